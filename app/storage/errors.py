"""Errors of the blob stores that reach callers (issue 16).

    raise StorageUnavailable("put")     # 503 storage_unavailable, Retry-After: 5
    raise BlobCorrupted(digest)         # a 500: stored bytes do not match their key

``StorageUnavailable`` is a domain error (``app.core.problems`` answers it as problem+json):
the object store cannot be reached or refuses to serve (endpoint down, timeouts, throttling,
credentials refused). Its detail never names the endpoint, the bucket or a credential; the
log gets a one-line reason. ``BlobCorrupted`` is not a domain error on purpose: bytes that do
not hash to their content address break the storage invariant and are answered as an internal
error (logged with its digest).
"""

from __future__ import annotations

from app.core.errors import ServiceUnavailable


class StorageUnavailable(ServiceUnavailable):
    """The blob store cannot serve now; the request may be retried."""

    code = "storage_unavailable"
    retry_after = 5

    def __init__(self, operation: str) -> None:
        super().__init__("the artifact storage is unavailable; retry the request shortly")
        self.operation = operation  # for logs, never sent


class BlobCorrupted(RuntimeError):
    """The object stored under a digest's key does not hash to that digest."""

    def __init__(self, sha256: str) -> None:
        super().__init__(f"the object stored for {sha256} does not have that sha256")
        self.sha256 = sha256
