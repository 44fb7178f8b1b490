"""A tiny in-memory TUF repository (python-tuf Metadata API) served through a fetcher,
so `refresh_via_tuf` is tested end to end without a network."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from securesystemslib.signer import CryptoSigner
from tuf.api.exceptions import DownloadHTTPError
from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer
from tuf.ngclient import FetcherInterface

URL = "https://tuf.example.test"


class InMemoryRepo:
    def __init__(self, trusted_root: bytes) -> None:
        self.signer = CryptoSigner.generate_ed25519()
        expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
        root = Root(expires=expires)
        for role in ("root", "timestamp", "snapshot", "targets"):
            root.add_key(self.signer.public_key, role)
        target = TargetFile.from_data("trusted_root.json", trusted_root)
        targets = Targets(expires=expires, targets={"trusted_root.json": target})
        snapshot = Snapshot(expires=expires, meta={"targets.json": MetaFile(version=1)})
        timestamp = Timestamp(expires=expires, snapshot_meta=MetaFile(version=1))
        self.files: dict[str, bytes] = {}
        for name, signed in (("root", root), ("targets", targets), ("snapshot", snapshot),
                             ("timestamp", timestamp)):
            md = Metadata(signed)
            md.sign(self.signer)
            data = md.to_bytes(JSONSerializer())
            self.files[f"/{name}.json"] = data
            if name != "timestamp":  # consistent snapshots: version-prefixed names
                self.files[f"/1.{name}.json"] = data
            if name == "root":
                self.root_bytes = data
        digest = hashlib.sha256(trusted_root).hexdigest()
        self.files[f"/targets/{digest}.trusted_root.json"] = trusted_root
        self.files["/targets/trusted_root.json"] = trusted_root


class RepoFetcher(FetcherInterface):
    def __init__(self, repo: InMemoryRepo | None) -> None:
        self.repo = repo

    def _fetch(self, url: str) -> Iterator[bytes]:
        if self.repo is None:
            raise DownloadHTTPError("network is unreachable", 0)
        path = url.removeprefix(URL)
        if path not in self.repo.files:
            raise DownloadHTTPError(f"not found: {path}", 404)
        return iter([self.repo.files[path]])
