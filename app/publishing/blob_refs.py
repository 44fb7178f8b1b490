"""When stored bytes may be deleted: one rule for unpublish, failed publishes and the sweep.

    releases = BlobReleases(blobs)
    try:
        with session_scope(engine, write=True) as session:
            ...                                        # e.g. tombstone a version
            releases.release_unreferenced(session, digests)
    except BaseException:
        releases.undo()                                # the transaction failed: bytes back
        raise
    releases.finish()                                  # committed: bytes destroyed

The invariant (issue 10): the bytes of a blob stay stored while a file of a version that is not
unpublished references it. A 201 therefore means "downloadable until unpublished".

How races are decided. Every party that deletes bytes or relies on bytes it did not just write
works inside a write transaction and first takes the digest's lock (``lock_digest``):

- PostgreSQL: a transaction-scoped advisory lock keyed by the digest (works whether or not the
  ``package_blobs`` row exists yet; released at commit or rollback).
- SQLite: the database has one writer; a write transaction (``BEGIN IMMEDIATE``) already
  excludes every other writer until it ends, so the lock is the transaction itself.

A deleter, holding the lock, re-checks the references and sets the bytes aside (they stop being
served but are not destroyed) before its transaction commits; it destroys them after the commit,
or puts them back if the transaction failed. A publisher, holding the lock, checks the bytes are
stored and stores them again from its staged upload if a deleter got there first
(``ensure_stored``). Whoever takes the lock second sees the other's effect: the deleter sees the
publisher's committed file row and keeps the bytes; the publisher sees the bytes gone and
re-stores them. The ``package_blobs`` row itself is never deleted: it is the digest record that
unpublished files (and their provenance, kept as evidence) still point at.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.core import driver_sql
from app.core.db import session_scope
from app.core.models import PackageBlob, PackageFile, PackageVersion
from app.storage import BlobStore, aside_digest

log = logging.getLogger("vouch.blobs")
_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(:key)")  # built once (issue 13)


def lock_digest(session: Session, sha256: str) -> None:
    """Serialise with every other deleter or re-user of ``sha256`` until this transaction ends.

    The caller must be in a write transaction (``session_scope(engine, write=True)``): on
    SQLite that transaction is the lock. Lock several digests in sorted order (no deadlocks).
    """
    if session.get_bind().dialect.name == "postgresql":
        driver_sql.fetch(session, _ADVISORY_LOCK, {"key": digest_lock_key(sha256)})


def digest_lock_key(sha256: str) -> int:
    """The PostgreSQL advisory lock key of a digest (``lock_digest``'s)."""
    return int.from_bytes(bytes.fromhex(sha256[:16]), "big", signed=True)


def has_live_reference(session: Session, sha256: str) -> bool:
    """True if a file of a version that is not unpublished uses these bytes. Quarantined
    versions count: their bytes stay as evidence."""
    found = session.exec(
        select(PackageFile.id)
        .join(PackageBlob, col(PackageBlob.id) == PackageFile.blob_id)
        .join(PackageVersion, col(PackageVersion.id) == PackageFile.version_id)
        .where(PackageBlob.sha256 == sha256, col(PackageVersion.unpublished_at).is_(None))
        .limit(1)).first()
    return found is not None or _cached_upstream(session, [sha256])


def live_digests(session: Session, digests: list[str]) -> set[str]:
    """Those of ``digests`` that a live file references (an unlocked read: a hint for sweeps,
    which re-check each candidate under its lock before deleting anything)."""
    live: set[str] = set()
    for start in range(0, len(digests), 500):
        chunk = digests[start:start + 500]
        live.update(session.exec(
            select(PackageBlob.sha256).distinct()
            .join(PackageFile, col(PackageFile.blob_id) == PackageBlob.id)
            .join(PackageVersion, col(PackageVersion.id) == PackageFile.version_id)
            .where(col(PackageBlob.sha256).in_(chunk),
                   col(PackageVersion.unpublished_at).is_(None))).all())
        live.update(_cached_upstream_digests(session, chunk))
    return live


def _cached_upstream_digests(session: Session, digests: list[str]) -> set[str]:
    """Bytes the upstream proxy cached (issue 17): served for ever, never swept."""
    from app.proxy.models import ProxyFile

    return set(session.exec(select(ProxyFile.sha256).where(
        col(ProxyFile.sha256).in_(digests))).all())


def _cached_upstream(session: Session, digests: list[str]) -> bool:
    return bool(_cached_upstream_digests(session, digests))


def ensure_stored(session: Session, blobs: BlobStore, sha256: str, staged: Path) -> bool:
    """Under the digest's lock, make sure the bytes a new file will reference are stored.

    Returns True if this call stored them (a deleter removed them after the publish's first
    ``put_file``). Raises what the store raises; the caller's transaction then fails.
    """
    lock_digest(session, sha256)
    return store_again_if_gone(blobs, sha256, staged)


def store_again_if_gone(blobs: BlobStore, sha256: str, staged: Path) -> bool:
    """``ensure_stored`` for a caller that holds the digest's lock already."""
    if blobs.exists(sha256):
        return False
    log.info("blob %s was removed while a publish reused it; storing it again", sha256)
    return blobs.put_file(sha256, staged)


class BlobReleases:
    """The bytes one transaction decided to delete: set aside now, destroyed after commit."""

    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs
        self.released: list[str] = []
        self._handles: list[str] = []

    def release_unreferenced(self, session: Session, digests: Iterable[str]) -> list[str]:
        """Lock each digest, and set aside the bytes no live file references any more.

        Call inside the write transaction that made the references go away (so the check
        sees them gone). Returns the digests released by this call.
        """
        released: list[str] = []
        for digest in sorted(set(digests)):
            lock_digest(session, digest)
            if has_live_reference(session, digest):
                continue
            handle = self.blobs.set_aside(digest)
            if handle is not None:
                self._handles.append(handle)
            released.append(digest)
        self.released.extend(released)
        return released

    def finish(self) -> None:
        """After the commit: destroy the set-aside bytes. Never raises (the sweep retries)."""
        for handle in self._handles:
            try:
                self.blobs.purge(handle)
            except Exception:
                log.exception("could not purge set-aside blob %s; the sweep will", handle)
        self._handles.clear()

    def undo(self) -> None:
        """The transaction failed: put every set-aside blob back. Never raises."""
        for handle in self._handles:
            try:
                self.blobs.restore(handle)
            except Exception:
                log.exception("could not restore set-aside blob %s; the sweep will", handle)
        self._handles.clear()
        self.released.clear()


def release_if_unreferenced(engine: Engine, blobs: BlobStore, sha256: str) -> bool:
    """In a transaction of its own: delete the bytes if no live file references them.

    Returns True if they were released. Raises database errors (nothing is deleted then).
    """
    releases = BlobReleases(blobs)
    try:
        with session_scope(engine, write=True) as session:
            released = releases.release_unreferenced(session, [sha256])
    except BaseException:
        releases.undo()
        raise
    releases.finish()
    return bool(released)


def settle_set_aside(engine: Engine, blobs: BlobStore) -> list[str]:
    """Finish what a crash interrupted between "set aside" and "purge"/"restore".

    Under each digest's lock: bytes a live file still references and that are not stored go
    back (the deciding transaction never committed); every other set-aside copy is purged.
    Returns the handles purged.
    """
    purged: list[str] = []
    for handle in blobs.set_aside_handles():
        digest = aside_digest(handle)
        with session_scope(engine, write=True) as session:
            lock_digest(session, digest)
            if has_live_reference(session, digest) and not blobs.exists(digest):
                log.warning("restoring blob %s: set aside by a transaction that never "
                            "committed", digest)
                blobs.restore(handle)
                continue
        blobs.purge(handle)
        purged.append(handle)
    return purged
