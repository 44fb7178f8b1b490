"""PEP 658 metadata (``/pypi/files/{name}/{version}/{filename}.metadata``) without the routed
path: the download's lookup, and the bytes kept by their digest.

    metadata = CoreMetadataReads(lookup, engine)          # lookup: fast_downloads' ArtifactLookup
    app.add_middleware(CoreMetadata, reads=metadata)       # inside the stack
    protocol_answers.append(metadata.answer)               # `vouch serve`'s protocol

pip and uv read a wheel's metadata before they choose it, so a resolution asks for one of
these per candidate file; the routed path opened a session and read the file twice (700-760
requests/s on two workers). Whether the file may be read is decided as for its download, by
``ArtifactLookup`` on every request (unpublished, quarantined: the routed path's 410 and 403),
and the lookup gives the metadata's sha256, recorded at upload. The bytes are kept by that
digest (they are what the digest names, so never stale): read once from the file's row in a
worker thread, checked against the digest, then answered from memory. A file without
metadata, a lookup that fails and everything not plain goes to the routed path. A metadata
read is not a download: nothing is counted, as on the routed path, and an ``If-None-Match``
is not answered with a 304 there either.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from functools import partial

import anyio.to_thread
from sqlalchemy import text
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.answers import Answer, Pending, header_lines
from app.publishing.fast_downloads import (
    METADATA,
    PYPI,
    RETRY_AFTER,
    ArtifactLookup,
    BodyCache,
    Key,
    Servable,
    pypi_file,
    request_header,
)
from app.publishing.front_door import plain_anonymous

log = logging.getLogger("vouch.pypi.metadata")

KEPT_BYTES = 8 * 1024 * 1024  # per process: a wheel's METADATA is a few KiB
_IMMUTABLE = b"public, max-age=31536000, immutable"
_READ = text("SELECT core_metadata FROM package_files WHERE id = :id")


class CoreMetadataReads:
    """The lookup and the kept bytes, shared by the middleware and the protocol's answerer."""

    def __init__(self, lookup: ArtifactLookup, engine: Engine) -> None:
        self.lookup = lookup
        self.engine = engine
        self.kept = BodyCache(KEPT_BYTES)
        self._off_until = 0.0

    def answer(self, scope: Scope) -> Answer | Pending | None:
        """The protocol's answerer: a plain anonymous read of metadata already kept, after
        the lookup; everything else goes to the application."""
        wanted = _target(scope)
        if wanted is None or time.monotonic() < self._off_until or not plain_anonymous(scope):
            return None
        key, filename = wanted
        return self.lookup.answer_with(key, partial(self._kept_answer, scope["method"],
                                                    filename))

    def _kept_answer(self, method: str, filename: str, found: Servable | None) -> Answer | None:
        if found is None or found.metadata_sha256 is None:
            return None
        kept = self.kept.get(found.metadata_sha256)
        if kept is None:
            return None  # the application reads the bytes (in a thread) and keeps them
        head = header_lines(_headers(found.metadata_sha256, filename, len(kept[0])))
        return Answer(200, head, kept[0] if method == "GET" else b"")

    async def serve(self, scope: Scope, receive: Receive, send: Send, app: ASGIApp) -> None:
        """The middleware's path: looked up, read and kept when not kept yet; what is not
        servable here is ``app``'s (the routed path's problem documents)."""
        wanted = _target(scope)
        if wanted is None or time.monotonic() < self._off_until:
            await app(scope, receive, send)
            return
        key, filename = wanted
        found: Servable | None = None
        body: bytes | None = None
        try:
            found = await self.lookup.find(key)
            body = None if found is None else await self._bytes(found)
        except Exception:
            log.warning("metadata fast path: database error; using the routed path for %ss",
                        RETRY_AFTER, exc_info=True)
            self.lookup.close()
            self._off_until = time.monotonic() + RETRY_AFTER
        if found is None or found.metadata_sha256 is None or body is None:
            await app(scope, receive, send)
            return
        headers = _headers(found.metadata_sha256, filename, len(body))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body",
                    "body": body if scope["method"] == "GET" else b""})

    async def _bytes(self, found: Servable) -> bytes | None:
        digest = found.metadata_sha256
        if digest is None:
            return None
        kept = self.kept.get(digest)
        if kept is not None:
            return kept[0]
        raw = await anyio.to_thread.run_sync(self._read, found.file_id)
        if raw is None or not hmac.compare_digest(hashlib.sha256(raw).hexdigest(), digest):
            return None  # not what the upload recorded: the routed path answers
        self.kept.put(digest, raw, 0.0)
        return raw

    def _read(self, file_id: int) -> bytes | None:
        with self.engine.connect() as conn:
            raw = conn.execute(_READ, {"id": file_id}).scalar()
        return None if raw is None else bytes(raw)


class CoreMetadata:
    """ASGI middleware over ``CoreMetadataReads.serve``."""

    def __init__(self, app: ASGIApp, reads: CoreMetadataReads) -> None:
        self.app = app
        self.reads = reads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.reads.serve(scope, receive, send, self.app)


def _target(scope: Scope) -> tuple[Key, str] | None:
    """(the file's lookup key, the requested file name) of a plain ``GET``/``HEAD`` of a
    ``.metadata`` file."""
    if (scope["type"] != "http" or scope["method"] not in ("GET", "HEAD")
            or scope.get("query_string") or request_header(scope, b"range") is not None):
        return None
    file = pypi_file(scope["path"])
    if file is None or not file[2].endswith(METADATA) or file[2] == METADATA:
        return None
    name, version, filename = file
    return (PYPI, name, version, filename[:-len(METADATA)]), filename


def _headers(digest: str, filename: str, size: int) -> list[tuple[bytes, bytes]]:
    """The routed path's headers for the metadata bytes (``routers/pypi_simple.py``)."""
    b64 = base64.b64encode(bytes.fromhex(digest)).decode()
    return [(b"etag", f'"{digest}"'.encode()), (b"repr-digest", f"sha-256=:{b64}:".encode()),
            (b"cache-control", _IMMUTABLE),
            (b"content-disposition", f'attachment; filename="{filename}"'.encode()),
            (b"content-length", str(size).encode()),
            (b"content-type", b"application/octet-stream")]
