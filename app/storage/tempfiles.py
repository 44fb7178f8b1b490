"""Temporary files that show whether their writer is still alive (issue 10: ``kill -9``).

    with locked_temp_file(directory, prefix="upload-") as path:
        with path.open("wb") as out: ...          # the file is removed when the block ends
    removed = remove_abandoned(directory, "upload-*")   # Removed(count=..., size=...)

A process that dies with ``kill -9`` (or the OOM killer, or a power cut) never runs its
``finally`` blocks, so its temporary files stay for ever. To tell those apart from files that
a live process is still writing, the writer holds an exclusive ``flock`` on its temporary file
for the file's whole life; the kernel drops the lock when the process dies, however it dies.
``remove_abandoned`` deletes only the files it can lock itself: a file of a live process (this
one, another uvicorn worker, or another replica that shares the data directory) is never
touched. flock works between processes and containers on one host's filesystem; a data
directory on a network filesystem needs working flock there (NFSv4 emulates it with POSIX
locks). Files written by a version without these locks are unlocked, and so are removed.

Creation race: a sweeper may lock and remove a file in the instant between its creation and
the writer's ``flock``. The writer checks, once it holds the lock, that its path still names
the file it locked, and otherwise starts again with a new name.

A writer that needs the descriptor itself (issue 13: no second ``open`` per upload) uses
``held_temp_file``, and may ``seal`` the file once it has written it: a promise that nothing
writes to it again while it lives. A blob store on the same filesystem then links a sealed
file into place (``sealed_fd``) instead of copying it; files that are not sealed are copied.

    with held_temp_file(directory, prefix="upload-") as held:   # Held(fd=..., path=...)
        ...write through held.fd...; seal(held)

The directory is created when a file is first made in it (and again if it has gone), not
before every file.
"""

from __future__ import annotations

import fcntl
import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("vouch.storage")

_ATTEMPTS = 10


@dataclass(frozen=True)
class Removed:
    """What a sweep of abandoned temporary files removed."""

    count: int = 0
    size: int = 0

    def __add__(self, other: Removed) -> Removed:
        return Removed(self.count + other.count, self.size + other.size)

    def __str__(self) -> str:
        files = "file" if self.count == 1 else "files"
        return f"{self.count} abandoned temporary {files} ({self.size} bytes)"


@dataclass(frozen=True)
class Held:
    """A temporary file held by this process: its descriptor (read-write, locked) and path."""

    fd: int
    path: Path


# Sealed files of this process, by path: written, never to be written again while they live.
_SEALED: dict[str, int] = {}


@contextmanager
def held_temp_file(directory: Path, *, prefix: str) -> Iterator[Held]:
    """Create an empty file in ``directory`` (created if missing), open read-write, and hold an
    exclusive flock on it until the block ends; then remove it (if it is still there) and
    close it, which releases the lock.

    Raises ``OSError`` when the file cannot be created (or, after repeated interference by
    sweepers, locked)."""
    fd, path = _create_locked(directory, prefix)
    try:
        yield Held(fd, path)
    finally:
        _SEALED.pop(str(path), None)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        finally:
            os.close(fd)  # releases the lock: only now may a sweeper see the name (gone)


@contextmanager
def locked_temp_file(directory: Path, *, prefix: str) -> Iterator[Path]:
    """``held_temp_file`` for a writer that opens the path itself."""
    with held_temp_file(directory, prefix=prefix) as held:
        yield held.path


def seal(held: Held) -> None:
    """Declare ``held``'s file complete: nothing writes to it again until its block ends. Only
    then may a blob store link the file itself into place (``sealed_fd``), from inside that
    block: the descriptor is closed when it ends."""
    _SEALED[str(held.path)] = held.fd


def sealed_fd(path: Path) -> int | None:
    """The descriptor of ``path`` if this process sealed it and still holds it, else None."""
    return _SEALED.get(str(path))


_FLAGS = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(
    os, "O_NOFOLLOW", 0)


def _create_locked(directory: Path, prefix: str) -> tuple[int, Path]:
    for _ in range(_ATTEMPTS):
        path = directory / f"{prefix}{secrets.token_hex(8)}"
        try:
            fd = os.open(path, _FLAGS, 0o600)
        except FileNotFoundError:  # the directory is new (or was removed): make it, retry
            directory.mkdir(parents=True, exist_ok=True)
            continue
        except FileExistsError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # a sweeper holds it and is removing it: use another name
            os.close(fd)
            continue
        if _same_file(fd, path):
            return fd, path
        os.close(fd)  # a sweeper removed it before we locked it
    raise OSError(f"could not create a locked temporary file in {directory}")


def _same_file(fd: int, path: Path) -> bool:
    try:
        named = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


def remove_abandoned(directory: Path, pattern: str) -> Removed:
    """Remove the files in ``directory`` matching ``pattern`` that no live process holds
    locked. Never raises for a file that vanished or could not be opened; logs and skips it."""
    removed = Removed()
    if not directory.is_dir():
        return removed
    for path in sorted(directory.glob(pattern)):
        removed += _remove_if_abandoned(path)
    return removed


def _remove_if_abandoned(path: Path) -> Removed:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return Removed()
    except OSError as err:
        log.warning("cannot inspect temporary file %s: %s", path, err)
        return Removed()
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return Removed()  # a live process is writing it
        if not _same_file(fd, path):
            return Removed()
        size = os.fstat(fd).st_size
        path.unlink(missing_ok=True)
        return Removed(1, size)
    finally:
        os.close(fd)
