"""Write-once, content-addressed blob storage behind the ``BlobStore`` protocol."""

from app.storage.base import BlobExists, BlobNotFound, BlobStore, aside_digest, blob_key
from app.storage.filesystem import FilesystemBlobStore

__all__ = ["BlobExists", "BlobNotFound", "BlobStore", "FilesystemBlobStore", "aside_digest",
           "blob_key"]
