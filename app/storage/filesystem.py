"""Blobs as files under one directory, content-addressed by sha256.

    store = FilesystemBlobStore(Path("var/blobs"))
    store.put_file(digest, staged)

Writes go to a temporary name in the same directory, are fsynced, then linked into place with
``os.link``, which fails if the target exists: a blob is never overwritten, even by a
concurrent writer of the same digest. The caller is responsible for the digest being right
(the publish service computes it while staging).

``set_aside`` renames the blob into ``.aside/`` (same filesystem, atomic): an open handle on
POSIX keeps reading the renamed (later unlinked) inode, so an in-flight download finishes.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from pathlib import Path
from typing import BinaryIO

from app.storage.base import BlobNotFound, aside_digest, blob_key
from app.storage.tempfiles import locked_temp_file


class FilesystemBlobStore:
    """A ``BlobStore`` on the local filesystem."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / ".tmp").mkdir(exist_ok=True)
        (self.root / ".aside").mkdir(exist_ok=True)

    def _path(self, sha256: str) -> Path:
        return self.root / blob_key(sha256)

    def put_file(self, sha256: str, source: Path) -> bool:
        target = self._path(sha256)
        if target.exists():
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        # Locked while it exists, so a start-up sweep after a crash removes it only once
        # its writer is dead (app/storage/tempfiles.py).
        with locked_temp_file(self.root / ".tmp", prefix="put-") as tmp:
            with tmp.open("wb") as out, source.open("rb") as src:
                shutil.copyfileobj(src, out, 1024 * 1024)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o444)
            try:
                os.link(tmp, target)  # atomic, and refuses to replace an existing blob
            except FileExistsError:
                return False
            return True

    def open(self, sha256: str) -> BinaryIO:
        try:
            return self._path(sha256).open("rb")
        except FileNotFoundError as err:
            raise BlobNotFound(sha256) from err

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    def size(self, sha256: str) -> int:
        try:
            return self._path(sha256).stat().st_size
        except FileNotFoundError as err:
            raise BlobNotFound(sha256) from err

    def delete(self, sha256: str) -> None:
        self._path(sha256).unlink(missing_ok=True)

    def _aside(self, handle: str) -> Path:
        aside_digest(handle)  # validates: no path tricks through a handle
        return self.root / ".aside" / handle

    def set_aside(self, sha256: str) -> str | None:
        handle = f"{sha256}.{secrets.token_hex(8)}"
        try:
            os.rename(self._path(sha256), self._aside(handle))
        except FileNotFoundError:
            return None
        return handle

    def purge(self, handle: str) -> None:
        self._aside(handle).unlink(missing_ok=True)

    def restore(self, handle: str) -> None:
        aside = self._aside(handle)
        target = self._path(aside_digest(handle))
        if aside.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError, FileNotFoundError):
                os.link(aside, target)  # never replaces a copy stored meanwhile
        aside.unlink(missing_ok=True)

    def set_aside_handles(self) -> list[str]:
        return sorted(p.name for p in (self.root / ".aside").iterdir()
                      if p.is_file() and not p.name.startswith("."))

    def local_path(self, sha256: str) -> Path | None:
        return self._path(sha256)

    def keys(self) -> list[str]:
        return sorted(
            p.name for p in self.root.glob("??/??/*") if p.is_file() and len(p.name) == 64
        )
