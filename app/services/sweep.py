"""Orphan sweep: delete stored blobs that no database row references.

    removed = sweep_orphans(engine, blobs, clock, min_age=timedelta(hours=1))

A publish stores its blob before its transaction commits, and deletes it again if the
transaction fails; a crash between the two can leave an orphan. Blobs younger than
``min_age`` are never touched, so an in-flight publish is safe.

    removed = sweep_temporary_files(staging_dir, blobs)   # Removed(count, size)

A process killed mid-write leaves its temporary files; these are removed at start-up and by
`vouch admin sweep-blobs`, but only once no live process holds them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from app.clock import Clock
from app.db import session_scope
from app.models import PackageBlob
from app.storage import BlobStore, FilesystemBlobStore
from app.storage.tempfiles import Removed, remove_abandoned


def sweep_orphans(engine: Engine, blobs: BlobStore, clock: Clock, *,
                  min_age: timedelta = timedelta(hours=1)) -> list[str]:
    stored = blobs.keys()
    if not stored:
        return []
    with session_scope(engine) as session:
        known = set(session.exec(select(PackageBlob.sha256)
                                 .where(col(PackageBlob.sha256).in_(stored))))
    cutoff = clock.now() - min_age
    removed = []
    for digest in stored:
        if digest in known:
            continue
        path = blobs.local_path(digest)
        if path is not None and datetime.fromtimestamp(path.stat().st_mtime, UTC) > cutoff:
            continue
        blobs.delete(digest)
        removed.append(digest)
    return removed


def sweep_temporary_files(staging_dir: Path, blobs: BlobStore) -> Removed:
    """Remove the temporary files of processes that died mid-write (issue 10): staged uploads
    (``staging/upload-*``) and half-copied blobs (``blobs/.tmp/put-*``).

    Only files that no live process holds locked are removed (``app.storage.tempfiles``), so
    this is safe while other processes or replicas share the data directory. Never raises for
    a single file; the total is returned for the log or the CLI."""
    removed = remove_abandoned(staging_dir, "upload-*")
    if isinstance(blobs, FilesystemBlobStore):
        removed += remove_abandoned(blobs.root / ".tmp", "put-*")
    return removed
