"""A short-lived cache of public metadata documents, served by a pure ASGI fast path.

    cache = DocumentCache(ttl=1.0)
    app = CachedReads(fastapi_app, cache)
    cache.invalidate("left-pad")          # after any write to left-pad, in this process

Metadata reads dominate a registry's traffic; rendering a version document costs several
queries. The fast path answers ``GET``/``HEAD`` of ``/api/v1/packages/...`` documents from
memory for at most ``ttl`` seconds (writes in this process invalidate at once; other replicas
see a change within ``ttl``). Artifact downloads are never served from here: whether a version
may be downloaded (unpublished, quarantined) is always read from the database.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "/api/v1/packages/"
_UNCACHED_SUFFIXES = ("/artifact", "/provenance", "/resolve", "/deprecation")


@dataclass(frozen=True)
class Entry:
    expires: float
    body: bytes
    etag: bytes
    package: str


def package_of(path: str) -> str:
    rest = path[len(PREFIX):]
    return rest.split("/versions/", 1)[0]


class DocumentCache:
    def __init__(self, ttl: float = 1.0, max_entries: int = 50_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, path: str) -> Entry | None:
        entry = self._entries.get(path)
        if entry is None or entry.expires < time.monotonic():
            return None
        return entry

    def put(self, path: str, body: bytes) -> None:
        etag = b'W/"' + hashlib.sha256(body).hexdigest()[:32].encode() + b'"'
        entry = Entry(time.monotonic() + self.ttl, body, etag, package_of(path))
        with self._lock:
            self._entries[path] = entry
            if len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def invalidate(self, package: str) -> None:
        with self._lock:
            for path in [p for p, e in self._entries.items() if e.package == package]:
                del self._entries[path]


def cacheable(scope: Scope) -> bool:
    if scope["type"] != "http":
        return False
    path: str = scope["path"]
    return (scope["method"] in ("GET", "HEAD")
            and path.startswith(PREFIX) and not scope.get("query_string")
            and not path.endswith(_UNCACHED_SUFFIXES))


class CachedReads:
    """ASGI middleware: serve cached documents, and fill the cache from successful GETs."""

    def __init__(self, app: ASGIApp, cache: DocumentCache) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not cacheable(scope):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        entry = self.cache.get(path)
        if entry is not None:
            await self._send(scope, send, entry)
            return
        if scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        status = 0
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and status == 200:
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    self.cache.put(path, b"".join(chunks))
            await send(message)

        await self.app(scope, receive, capture)

    @staticmethod
    async def _send(scope: Scope, send: Send, entry: Entry) -> None:
        not_modified = any(k == b"if-none-match" and v == entry.etag
                           for k, v in scope.get("headers", ()))
        headers = [(b"content-type", b"application/json"), (b"etag", entry.etag),
                   (b"cache-control", b"public, max-age=1"),
                   (b"content-length", b"0" if not_modified else str(len(entry.body)).encode())]
        await send({"type": "http.response.start", "status": 304 if not_modified else 200,
                    "headers": headers})
        body = b"" if not_modified or scope["method"] == "HEAD" else entry.body
        await send({"type": "http.response.body", "body": body})
