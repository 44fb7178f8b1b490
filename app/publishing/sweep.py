"""Orphan sweep: delete stored bytes that no file of a live (not unpublished) version uses.

    removed = sweep_orphans(engine, blobs, clock, min_age=timedelta(hours=1))

A publish stores its blob before its transaction commits, and deletes it again if the
transaction fails; a crash between the two can leave an orphan, and so can a crash between an
unpublish's commit and its purge. Every deletion re-checks the references under the digest's
lock (``app.publishing.blob_refs``), so even a publish reusing the bytes at that moment keeps
them; blobs younger than ``min_age`` are skipped anyway, so in-flight publishes are not made
to store their bytes twice. On S3, multipart uploads started before ``min_age`` (a process
died mid-upload) are aborted first.

    removed = sweep_temporary_files(staging_dir, blobs)   # Removed(count, size)

A process killed mid-write leaves its temporary files; these are removed at start-up and by
`vouch admin sweep-blobs`, but only once no live process holds them.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import Engine

from app.core.clock import Clock
from app.core.db import session_scope
from app.publishing.blob_refs import live_digests, release_if_unreferenced, settle_set_aside
from app.storage import BlobStore, FilesystemBlobStore
from app.storage.backends import abort_incomplete_uploads, stored_at
from app.storage.tempfiles import Removed, remove_abandoned


def sweep_orphans(engine: Engine, blobs: BlobStore, clock: Clock, *,
                  min_age: timedelta = timedelta(hours=1)) -> list[str]:
    """Delete stored bytes that no file of a live version references; return their digests.

    Each candidate is re-checked under its digest's lock in a write transaction before it goes
    (``blob_refs``), so a publish reusing the bytes concurrently either keeps them or stores
    them again. Bytes set aside by a transaction that crashed are settled first.
    """
    settle_set_aside(engine, blobs)
    cutoff = clock.now() - min_age
    abort_incomplete_uploads(blobs, cutoff)  # S3 multipart uploads of dead processes (issue 16)
    stored = blobs.keys()
    if not stored:
        return []
    with session_scope(engine) as session:
        live = live_digests(session, stored)
    removed = []
    for digest in stored:
        if digest in live:
            continue
        stored_time = stored_at(blobs, digest)
        if stored_time is None or stored_time > cutoff:
            continue  # removed meanwhile, or young (an in-flight publish may reference it)
        if release_if_unreferenced(engine, blobs, digest):
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
