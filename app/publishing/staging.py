"""Stage an upload: stream it to a temporary file under a size cap, hashing as it goes.

    with stage(stream, limit=100 * 2**20, directory=tmp) as staged:
        staged.sha256, staged.sha512, staged.size, staged.path

Raises ``PayloadTooLarge`` as soon as the cap is crossed; the temporary file's name is always
removed when the ``with`` block ends. While it exists it is locked (``app.storage.tempfiles``),
so a crash leftover can be told from a live upload.

Once written, the staged file is sealed (never written again): a filesystem blob store on the
same filesystem links it into place (fsync, read-only, ``os.link``) instead of copying it, so
a publish writes its bytes once, to one temporary file (issue 13). ``Staged.path`` stays a
readable file for the whole block (GPG verification, wheel metadata, digests).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from app.core.errors import DeclaredDigestMismatch, MalformedInput, PayloadTooLarge
from app.storage.tempfiles import held_temp_file, seal

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Staged:
    path: Path
    sha256: str
    sha512: str
    size: int


@contextmanager
def stage(stream: BinaryIO, *, limit: int, directory: Path) -> Iterator[Staged]:
    # Locked for as long as it exists: after a kill -9 only the start-up sweep (or `vouch
    # admin sweep-blobs`) removes it, and never while this process still uses it. The
    # directory is made with the first upload, not checked on every one.
    with held_temp_file(directory, prefix="upload-") as held:
        sha256, sha512, size = hashlib.sha256(), hashlib.sha512(), 0
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(
                    f"the artifact is larger than the limit of {limit} bytes", limit=limit
                )
            sha256.update(chunk)
            sha512.update(chunk)
            _write_all(held.fd, chunk)
        if size == 0:
            raise MalformedInput("the artifact is empty")
        seal(held)
        yield Staged(path=held.path, sha256=sha256.hexdigest(), sha512=sha512.hexdigest(),
                     size=size)


def _write_all(fd: int, data: bytes) -> None:
    """Straight to the locked descriptor: no file object (its fstat, ioctl and lseek)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def check_declared_digest(staged: Staged, declared: str | None) -> None:
    """Compare the client's sha256 with the computed one in constant time."""
    if declared is None:
        return
    normalized = declared.strip().lower()
    if len(normalized) != 64 or any(c not in "0123456789abcdef" for c in normalized):
        raise MalformedInput("sha256 must be 64 hexadecimal characters")
    if not hmac.compare_digest(normalized.encode(), staged.sha256.encode()):
        raise DeclaredDigestMismatch(expected=normalized, actual=staged.sha256)
