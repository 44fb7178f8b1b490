"""Which versions `vouch lock` should rather not pick: the consumer's policy as a resolver hook.

    prefs = Preferences(api, require_signed=True, avoid_vulnerable=False)
    prefs.source = source
    resolve(requirements, source, avoid=prefs.avoid)
    prefs.reasons("left-pad", "1.0.0")      # ["unsigned"]: say why it fell back

A version is a last resort when it is unsigned (and signatures are required, i.e. no
``--allow-unsigned``) or affected by a published advisory (with ``--avoid-vulnerable``);
deprecated versions are already a last resort and quarantined ones never chosen (the resolver).

Whether a version is signed: the batch metadata (``POST /api/v1/metadata``) says so per
version (``signed``, ``signing_method``), so no further request is made; only against a
registry that predates those fields is each candidate's version document read (concurrently,
once per package, cached for the run). Raises ``RegistryUnavailable``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

from client.api import RegistryClient, package_path
from client.errors import ClientError
from client.source import RegistrySource


class Preferences:
    def __init__(self, api: RegistryClient, *, require_signed: bool,
                 avoid_vulnerable: bool) -> None:
        self.api = api
        self.source = RegistrySource(api, ttl=60.0)
        self.require_signed = require_signed
        self.avoid_vulnerable = avoid_vulnerable
        self._signed: dict[str, dict[str, bool]] = {}
        self._advisories: dict[str, Any] = {}

    @property
    def active(self) -> bool:
        return self.require_signed or self.avoid_vulnerable

    def avoid(self, name: str, version: object) -> bool:
        return bool(self.reasons(name, str(version)))

    def reasons(self, name: str, version: str) -> list[str]:
        """Why ``name@version`` fails the consumer's policy (empty: it passes)."""
        found = []
        if self.require_signed and not self._is_signed(name, version):
            found.append("unsigned")
        if self.avoid_vulnerable:
            ids = self._affecting(name, version)
            if ids:
                found.append("affected by " + ", ".join(ids))
        return found

    def _is_signed(self, name: str, version: str) -> bool:
        if name not in self._signed:
            self._signed[name] = self._load_signed(name)
        return self._signed[name].get(version, False)

    def _load_signed(self, name: str) -> dict[str, bool]:
        package = self.source.package(name) or {"versions": []}
        result: dict[str, bool] = {}
        unknown = []
        for v in package["versions"]:
            if "signed" in v:
                result[v["version"]] = bool(v["signed"])
            elif "signer" in v:
                result[v["version"]] = bool(v["signer"])
            elif v.get("artifact_url") and not v.get("quarantined"):
                unknown.append(v["version"])

        def signed(version: str) -> tuple[str, bool]:
            try:
                doc = self.api.json("GET", f"/api/v1/packages/{package_path(name)}"
                                           f"/versions/{quote(version)}")
            except ClientError:
                return version, False
            return version, bool(doc and doc.get("signer"))

        with ThreadPoolExecutor(max_workers=8) as pool:
            result.update(pool.map(signed, unknown))
        return result

    def _affecting(self, name: str, version: str) -> list[str]:
        from client.advisory_check import fetch_advisories

        if name not in self._advisories:
            self._advisories[name] = fetch_advisories(self.api, [name])
        return sorted(a.id for a in self._advisories[name].query("Vouch", name, version))
