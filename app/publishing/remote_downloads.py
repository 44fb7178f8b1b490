"""Downloads from the S3 blob store (issue 16): streamed by the app, or a 307 to S3.

    response = redirect_download(registry, artifact, headers, request.method)   # or None
    response = remote_blob_response(stream, headers=headers, filename=artifact.filename)

Both run after every check the download route makes (unknown, unpublished, quarantined; a
presented token is checked before any route runs), and the route counts a GET either way.

Redirect (``VOUCH_DOWNLOAD_MODE=redirect``, S3 only): a GET answers ``307`` with ``Location``
a presigned S3 GET valid ``VOUCH_S3_PRESIGN_EXPIRY`` (15 minutes), signed locally (no request
to S3), carrying ``Repr-Digest``, ``X-Checksum-Sha256`` and ``X-Checksum-Sha512`` so a client
can verify what it then fetches, and ``Cache-Control: no-store`` (the URL expires; the
redirect must never be cached like the immutable bytes). A ``HEAD`` is answered as in proxy
mode (a presigned GET URL does not sign a HEAD). A version unpublished between this answer
and the client's GET is S3's 404, as with nginx's hand-off.

Proxy (the default): the bytes stream from the object opened before any header goes out
(``S3BlobStore.open``), with the headers a download from disk has (``Content-Length``,
``Last-Modified``, ``Accept-Ranges``), range requests included (one range or several, as
Starlette's ``FileResponse`` answers them from disk; a seek is a ranged GET of that object).
"""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, BinaryIO, cast

import anyio
from fastapi import Response
from fastapi.responses import FileResponse

from app.publishing.downloads import Artifact
from app.storage.s3 import S3BlobStore, S3Reader


def redirect_download(registry: Any, artifact: Artifact, headers: dict[str, str],
                      method: str) -> Response | None:
    """The 307 to a presigned GET, or None when the route should stream (proxy mode, HEAD)."""
    redirect = presigned_redirect(registry)
    if redirect is None or method != "GET":
        return None
    return Response(status_code=307, headers=dict(redirect(artifact.sha256, artifact.sha512,
                                                           artifact.filename)))


RedirectHeaders = Callable[[str, str, str], list[tuple[str, str]]]


def presigned_redirect(registry: Any) -> RedirectHeaders | None:
    """In redirect mode, ``headers(sha256, sha512, filename)`` of the 307 (``Location`` and
    the digests); None in proxy mode. Used by the routed path and the download fast path."""
    settings = registry.settings
    store = registry.blobs
    if settings.download_mode != "redirect" or not isinstance(store, S3BlobStore):
        return None  # Settings refuses redirect without S3
    expires_in = int(settings.s3_presign_expiry.total_seconds())

    def headers(sha256: str, sha512: str, filename: str) -> list[tuple[str, str]]:
        digest = base64.b64encode(bytes.fromhex(sha256)).decode()
        return [("Location", store.presigned_url(sha256, filename=filename,
                                                 expires_in=expires_in)),
                ("Repr-Digest", f"sha-256=:{digest}:"),
                ("X-Checksum-Sha256", sha256),
                ("X-Checksum-Sha512", sha512),
                ("Cache-Control", "no-store")]
    return headers


def remote_blob_response(stream: BinaryIO, *, headers: dict[str, str],
                         filename: str) -> Response | None:
    """A streaming response over an opened S3 object, or None for other streams."""
    if not isinstance(stream, S3Reader):
        return None
    return RemoteBlobResponse(stream, headers=headers, filename=filename)


class RemoteBlobResponse(FileResponse):
    """``FileResponse`` (its headers, its Range handling) over an ``S3Reader``: the size and
    modification time come from the object, the bytes from the handle opened before the
    response started; the handle is closed when the response ends."""

    chunk_size = 1024 * 1024

    def __init__(self, stream: S3Reader, *, headers: dict[str, str], filename: str) -> None:
        self.stream = stream
        mtime = stream.last_modified.timestamp()
        stat = os.stat_result((0o100444, 0, 0, 1, 0, 0, stream.size, mtime, mtime, mtime))
        super().__init__(os.devnull, headers=headers, filename=filename,
                         media_type="application/octet-stream", stat_result=stat)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # No pathsend: there is no path to hand to the server.
        extensions = {k: v for k, v in scope.get("extensions", {}).items()
                      if k != "http.response.pathsend"}
        try:
            await super().__call__({**scope, "extensions": extensions}, receive, send)
        finally:
            await anyio.to_thread.run_sync(self.stream.close)

    @asynccontextmanager
    async def _open_file(self) -> AsyncIterator[Any]:
        yield anyio.wrap_file(cast(BinaryIO, self.stream))  # closed by __call__, after ranges
