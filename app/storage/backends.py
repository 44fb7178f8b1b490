"""The configured blob store, and what the lifecycle asks of any backend beyond the protocol.

    blobs = open_blob_store(settings)           # VOUCH_BLOB_STORE=filesystem|s3
    stored = stored_at(blobs, digest)           # when the bytes were stored (sweep's age rule)
    removed = abort_incomplete_uploads(blobs, older_than)   # S3 multipart left by a crash

The filesystem store needs nothing but ``data_dir``; the S3 store is built from the
``VOUCH_S3_*`` settings (its credentials come from the SDK's standard chain, never from the
settings). Nothing here connects anywhere: the first request to S3 is the first blob
operation.
"""

from __future__ import annotations

from datetime import UTC, datetime

from app.core.config import Settings
from app.storage.base import BlobNotFound, BlobStore
from app.storage.filesystem import FilesystemBlobStore
from app.storage.s3 import S3BlobStore
from app.storage.tempfiles import Removed


def open_blob_store(settings: Settings) -> BlobStore:
    """The store ``settings`` names (validated at start-up by ``Settings``)."""
    if settings.blob_store == "s3":
        assert settings.s3_bucket is not None  # Settings refuses s3 without a bucket
        return S3BlobStore(
            settings.s3_bucket, prefix=settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url, region=settings.s3_region,
            presign_endpoint_url=settings.s3_presign_endpoint_url,
            multipart_threshold=settings.s3_multipart_threshold,
            part_size=settings.s3_part_size)
    return FilesystemBlobStore(settings.blob_dir)


def stored_at(blobs: BlobStore, sha256: str) -> datetime | None:
    """When the blob was stored, or None if it is gone (or the backend cannot tell)."""
    try:
        if isinstance(blobs, S3BlobStore):
            return blobs.modified_at(sha256)
        path = blobs.local_path(sha256)
        if path is None:
            return None
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except (BlobNotFound, FileNotFoundError):
        return None


def abort_incomplete_uploads(blobs: BlobStore, older_than: datetime) -> Removed:
    """Abort the S3 multipart uploads a dead process left (nothing for the filesystem, whose
    half-written files ``app.storage.tempfiles`` sweeps)."""
    if isinstance(blobs, S3BlobStore):
        return blobs.abort_incomplete_uploads(older_than)
    return Removed()
