"""The local content-addressed cache: artifacts forever (by sha256), metadata with a TTL.

    cache = Cache(config.cache_dir)
    path = cache.artifact_path(sha256)           # present only if verified when stored
    cache.store_artifact(sha256, staged_file)    # re-hashes; raises IntegrityError on mismatch

An artifact is stored only after its bytes hash to its key, and is re-verified on every read,
so a tampered cache entry is detected (and removed) instead of trusted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from client.errors import IntegrityError


def file_digests(path: Path) -> tuple[str, str]:
    sha256, sha512 = hashlib.sha256(), hashlib.sha512()
    with path.open("rb") as stream:
        while chunk := stream.read(1024 * 1024):
            sha256.update(chunk)
            sha512.update(chunk)
    return sha256.hexdigest(), sha512.hexdigest()


def same_digest(a: str, b: str) -> bool:
    return hmac.compare_digest(a.lower().encode(), b.lower().encode())


class Cache:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.artifacts = root / "artifacts"
        self.metadata = root / "metadata"
        self.tmp = root / "tmp"
        for folder in (self.artifacts, self.metadata, self.tmp):
            folder.mkdir(parents=True, exist_ok=True)

    def _artifact(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise IntegrityError(f"not a sha256 digest: {sha256!r}")
        return self.artifacts / sha256[:2] / sha256

    def check(self, sha256: str) -> str:
        """``missing``, ``ok`` or ``corrupt`` (a corrupt entry is removed)."""
        path = self._artifact(sha256)
        if not path.is_file():
            return "missing"
        actual, _ = file_digests(path)
        if same_digest(actual, sha256):
            return "ok"
        path.unlink(missing_ok=True)
        return "corrupt"

    def artifact_path(self, sha256: str) -> Path | None:
        """The cached file if present and intact; a corrupted entry is deleted."""
        path = self._artifact(sha256)
        if not path.is_file():
            return None
        actual, _ = file_digests(path)
        if not same_digest(actual, sha256):
            path.unlink(missing_ok=True)
            return None
        return path

    def new_temp(self) -> Path:
        fd, name = tempfile.mkstemp(dir=self.tmp, prefix="dl-")
        os.close(fd)
        return Path(name)

    def store_artifact(self, sha256: str, staged: Path, sha512: str | None = None) -> Path:
        actual256, actual512 = file_digests(staged)
        if not same_digest(actual256, sha256) or (sha512 and not same_digest(actual512, sha512)):
            staged.unlink(missing_ok=True)
            raise IntegrityError(
                f"downloaded bytes have sha256 {actual256}, expected {sha256}; nothing was kept",
                code="checksum_mismatch")
        target = self._artifact(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, target)
        return target

    def get_metadata(self, key: str, ttl: float) -> Any | None:
        path = self.metadata / (hashlib.sha256(key.encode()).hexdigest() + ".json")
        try:
            if time.time() - path.stat().st_mtime > ttl:
                return None
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return None

    def put_metadata(self, key: str, value: Any) -> None:
        path = self.metadata / (hashlib.sha256(key.encode()).hexdigest() + ".json")
        tmp = self.new_temp()
        tmp.write_text(json.dumps(value))
        os.replace(tmp, path)
