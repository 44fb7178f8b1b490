"""Blobs as files under one directory, content-addressed by sha256.

    store = FilesystemBlobStore(Path("var/blobs"))
    store.put_file(digest, staged)

A blob reaches its final path only through ``os.link``, which fails if the target exists: a
blob is never overwritten, even by a concurrent writer of the same digest, and it is fsynced
and made read-only before it is linked. A staged upload that its writer sealed
(``app.storage.tempfiles.seal``) is linked itself when it is on the same filesystem: no copy,
no second temporary file (issue 13). Any other source (or a staged file on another
filesystem) is copied to a temporary name under ``.tmp/`` first, never linked: its owner may
still change it. The caller is responsible for the digest being right (the publish service
computes it while staging).

``set_aside`` renames the blob into ``.aside/`` (same filesystem, atomic): an open handle on
POSIX keeps reading the renamed (later unlinked) inode, so an in-flight download finishes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
from pathlib import Path
from typing import BinaryIO

from app.storage.base import BlobNotFound, aside_digest, blob_key
from app.storage.tempfiles import locked_temp_file, sealed_fd

# os.link cannot make the link here (another filesystem, no hard links): copy instead.
_CANNOT_LINK = frozenset({errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP,
                          errno.EOPNOTSUPP, errno.ENOSYS})


def _link_new(source: Path, target: Path) -> None:
    """``os.link``, making the target's fan-out directories the first time they are needed."""
    try:
        os.link(source, target)
    except FileNotFoundError:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(source, target)


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
        if os.path.exists(target):
            return False
        fd = sealed_fd(source)
        if fd is not None:
            linked = self._link_sealed(fd, source, target)
            if linked is not None:
                return linked
        return self._copy_in(source, target)

    def _link_sealed(self, fd: int, source: Path, target: Path) -> bool | None:
        """Make the sealed file ``source`` (open as ``fd``) the blob itself; None when this
        filesystem cannot link it here (then it is copied)."""
        os.fsync(fd)
        os.fchmod(fd, 0o444)
        try:
            _link_new(source, target)  # atomic, and refuses to replace an existing blob
        except FileExistsError:
            return False
        except OSError as err:
            if err.errno in _CANNOT_LINK:
                return None
            raise
        return True

    def _copy_in(self, source: Path, target: Path) -> bool:
        # Locked while it exists, so a start-up sweep after a crash removes it only once
        # its writer is dead (app/storage/tempfiles.py).
        with locked_temp_file(self.root / ".tmp", prefix="put-") as tmp:
            with tmp.open("wb") as out, source.open("rb") as src:
                shutil.copyfileobj(src, out, 1024 * 1024)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o444)
            try:
                _link_new(tmp, target)  # atomic, and refuses to replace an existing blob
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
