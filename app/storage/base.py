"""The ``BlobStore`` protocol every storage backend implements.

    created = store.put_file(sha256, staged_path)   # True if this call created the blob
    with store.open(sha256) as stream: ...
    store.delete(sha256)
    handle = store.set_aside(sha256)   # unserved, not yet destroyed
    store.purge(handle)                # after the deciding transaction commits
    store.restore(handle)              # ...or, if it rolled back, back in place

Keys are lowercase hex sha256 digests. A blob is written once: ``put_file`` never replaces an
existing blob (it reports ``False`` and leaves it alone). ``open`` raises ``BlobNotFound``.

Deleting bytes is a two-step affair (issue 10): the service that decides a blob is no longer
referenced sets it aside inside the database transaction that saw every reference, and purges
it only after that transaction commits (or restores it when the transaction fails). A reader
that opened the blob before it was set aside keeps reading the whole file.
The contract suite in ``tests/unit/app/test_blobstore_contract.py`` is what a backend must pass.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import BinaryIO, Protocol

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class BlobNotFound(KeyError):
    """No blob is stored under that key."""


_ASIDE = re.compile(r"^[0-9a-f]{64}\.[0-9a-f]{16}$")


def aside_digest(handle: str) -> str:
    """The digest a set-aside handle holds; raises ``ValueError`` on a malformed handle."""
    if not _ASIDE.match(handle):
        raise ValueError(f"not a set-aside handle: {handle!r}")
    return handle.split(".", 1)[0]


class BlobExists(Exception):
    """Raised by backends that must refuse to overwrite (never silently replace)."""


def blob_key(sha256: str) -> str:
    """The storage key for a digest, ``ab/cd/abcd...``; raises ``ValueError`` on non-hex."""
    if not _HEX64.match(sha256):
        raise ValueError(f"not a lowercase sha256 hex digest: {sha256!r}")
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


class BlobStore(Protocol):
    def put_file(self, sha256: str, source: Path) -> bool:
        """Store ``source`` under ``sha256``; return True if created, False if it existed."""
        ...

    def open(self, sha256: str) -> BinaryIO:
        """Open the blob for reading; raises ``BlobNotFound``."""
        ...

    def exists(self, sha256: str) -> bool: ...

    def size(self, sha256: str) -> int:
        """Size in bytes; raises ``BlobNotFound``."""
        ...

    def delete(self, sha256: str) -> None:
        """Remove the blob if present (idempotent)."""
        ...

    def set_aside(self, sha256: str) -> str | None:
        """Stop serving the blob without destroying it: ``open``/``exists`` no longer see it,
        readers that already opened it keep reading. Returns a handle for ``purge`` or
        ``restore``, or None if nothing was stored."""
        ...

    def purge(self, handle: str) -> None:
        """Destroy set-aside bytes (idempotent)."""
        ...

    def restore(self, handle: str) -> None:
        """Put set-aside bytes back under their key; if the key was stored again meanwhile,
        keep that copy and drop this one (idempotent)."""
        ...

    def set_aside_handles(self) -> list[str]:
        """Every handle still set aside (a crash between decision and purge; for sweeps)."""
        ...

    def local_path(self, sha256: str) -> Path | None:
        """A filesystem path to serve from directly, or None for remote backends."""
        ...

    def keys(self) -> list[str]:
        """Every stored digest (for orphan sweeps and tests)."""
        ...
