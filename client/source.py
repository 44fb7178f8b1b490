"""The registry as the resolver's ``PackageSource``: batch metadata, cached with a TTL.

    source = RegistrySource(api)
    resolve(project.dependencies, source)

The resolver announces the names it is about to need (``prefetch``); this source fetches them
in one ``POST /api/v1/metadata`` per batch, so a graph of hundreds of packages takes a few
round trips. Metadata is cached locally for ``ttl`` seconds (`vouch lock`, the lockfile check
and `vouch verify` pass 0: always fresh, remembered only for the run).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from client.api import RegistryClient
from versions.resolver import Candidate

BATCH = 500


class RegistrySource:
    def __init__(self, api: RegistryClient, *, ttl: float = 300.0) -> None:
        self.api = api
        self.ttl = ttl
        self.metadata: dict[str, dict[str, Any] | None] = {}

    def prefetch(self, names: Sequence[str]) -> None:
        wanted = [n for n in dict.fromkeys(names) if n not in self.metadata]
        for name in list(wanted):
            cached = self.api.cache.get_metadata(self._key(name), self.ttl)
            if cached is not None:
                self.metadata[name] = cached.get("package")
                wanted.remove(name)
        for start in range(0, len(wanted), BATCH):
            chunk = wanted[start:start + BATCH]
            body = self.api.json("POST", "/api/v1/metadata", json={"names": chunk})
            for name in chunk:
                package = body["packages"].get(name)
                self.metadata[name] = package
                self.api.cache.put_metadata(self._key(name), {"package": package})

    def _key(self, name: str) -> str:
        return f"{self.api.config.registry}|metadata|{name}"

    def package(self, name: str) -> dict[str, Any] | None:
        if name not in self.metadata:
            self.prefetch([name])
        return self.metadata[name]

    def get_candidates(self, name: str) -> Sequence[Candidate] | None:
        package = self.package(name)
        if package is None:
            return None
        return [Candidate(version=v["version"], dependencies=v["dependencies"],
                          deprecated=v["deprecated"] or False,
                          unavailable=v["unpublished"] or not v["artifact_url"],
                          quarantined=v["quarantined"])
                for v in package["versions"]]

    def version(self, name: str, version: str) -> dict[str, Any] | None:
        package = self.package(name)
        if package is None:
            return None
        return next((v for v in package["versions"] if v["version"] == version), None)
