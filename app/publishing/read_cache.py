"""Public metadata documents served from memory, never after a write made them stale.

    cache = DocumentCache(ttl=30.0)
    reader = GenerationReader(engine)                      # app/publishing/generations.py
    app = CachedReads(fastapi_app, cache, reader=reader)
    cache.invalidate("left-pad")                           # optional: frees memory early

Metadata reads dominate a registry's traffic; rendering a version document costs several
queries. The fast path answers ``GET``/``HEAD`` of ``/api/v1/packages/...`` documents from
memory, on one condition checked on every request: the package's generation tag (its own
counter and the registry-wide one, raised by the database in the same transaction as any write
to what the document shows; migration 0011) is still the one the document was rendered under.
A write committed by any replica before a request arrived is therefore seen by that request
(issue 13); the tag read costs a ``PRAGMA`` on SQLite and a shared round trip on PostgreSQL
(see ``generations``). Documents are tagged with the tag read *before* they were rendered, so a
write that lands while one renders makes it stale at once instead of hiding behind it. The read
that renders a document is answered as its hits will be (the same ETag and Cache-Control, a
304 for a matching ``If-None-Match``), so a client can revalidate from the first. ``ttl``
bounds how long an entry nobody reads stays in memory (memory, not correctness: every hit
pushes its expiry back). Artifact downloads are never
served from here (``fast_downloads`` reads the database on every request). When the tag cannot
be read, every request goes to the routed path (which answers 503 ``database_unavailable`` if
the database is down) for ``RETRY_AFTER`` seconds.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from functools import partial

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.answers import Answer, Pending, header_lines
from app.publishing.front_door import plain_anonymous_read, tried
from app.publishing.generations import GenerationReader, Tag

log = logging.getLogger("vouch.read_cache")

PREFIX = "/api/v1/packages/"
RETRY_AFTER = 5.0
_UNCACHED_SUFFIXES = ("/artifact", "/provenance", "/resolve", "/deprecation")


@dataclass(slots=True)
class Entry:
    expires: float  # pushed back on every hit: ``ttl`` bounds how long an unused entry stays
    body: bytes
    etag: bytes
    package: str
    tag: Tag
    headers: list[tuple[bytes, bytes]]  # a 200's, built once (a hit is tens of microseconds)
    not_modified: list[tuple[bytes, bytes]]  # a 304's
    head: bytes  # ``headers`` as header lines, for the protocol's answer
    not_modified_head: bytes

    def answer(self, scope: Scope) -> tuple[int, list[tuple[bytes, bytes]], bytes, bytes]:
        """Status, headers (as a list and as header lines) and body for ``scope``: 304 when
        its ``If-None-Match`` is this entry's ETag, no body for ``HEAD``."""
        if any(k == b"if-none-match" and v == self.etag for k, v in scope["headers"]):
            return 304, self.not_modified, self.not_modified_head, b""
        return 200, self.headers, self.head, b"" if scope["method"] == "HEAD" else self.body


def _headers(etag: bytes, length: int) -> list[tuple[bytes, bytes]]:
    return [(b"content-type", b"application/json"), (b"etag", etag),
            (b"cache-control", b"public, max-age=1"), (b"content-length", b"%d" % length)]


def package_of(path: str) -> str:
    rest = path[len(PREFIX):]
    return rest.split("/versions/", 1)[0]


class DocumentCache:
    """Rendered documents by path, each with the generation tag it was rendered under."""

    def __init__(self, ttl: float = 30.0, max_entries: int = 50_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._paths: dict[str, set[str]] = {}  # package -> its cached paths
        self._lock = threading.Lock()

    def get(self, path: str, tag: Tag) -> Entry | None:
        """The entry for ``path`` if it was rendered under ``tag`` and is not too old."""
        entry = self._entries.get(path)
        if entry is None or entry.tag != tag:
            return None
        now = time.monotonic()
        if entry.expires < now:
            return None
        entry.expires = now + self.ttl
        return entry

    def put(self, path: str, body: bytes, tag: Tag) -> Entry:
        etag = b'W/"' + hashlib.sha256(body).hexdigest()[:32].encode() + b'"'
        package = package_of(path)
        headers, not_modified = _headers(etag, len(body)), _headers(etag, 0)
        entry = Entry(time.monotonic() + self.ttl, body, etag, package, tag, headers,
                      not_modified, header_lines(headers), header_lines(not_modified))
        with self._lock:
            self._entries[path] = entry
            self._paths.setdefault(package, set()).add(path)
            while len(self._entries) > self.max_entries:
                old_path, old = self._entries.popitem(last=False)
                self._forget(old.package, old_path)
        return entry

    def __contains__(self, path: str) -> bool:
        return path in self._entries

    def invalidate(self, package: str) -> None:
        """Drop the package's documents now (they would fail the tag check anyway)."""
        with self._lock:
            for path in self._paths.pop(package, ()):
                self._entries.pop(path, None)

    def _forget(self, package: str, path: str) -> None:
        paths = self._paths.get(package)
        if paths is not None:
            paths.discard(path)
            if not paths:
                del self._paths[package]


def cacheable(scope: Scope) -> bool:
    if scope["type"] != "http":
        return False
    path: str = scope["path"]
    return (scope["method"] in ("GET", "HEAD")
            and path.startswith(PREFIX) and not scope.get("query_string")
            and not path.endswith(_UNCACHED_SUFFIXES))


class CachedReads:
    """ASGI middleware: serve current cached documents; fill the cache from successful GETs."""

    def __init__(self, app: ASGIApp, cache: DocumentCache, reader: GenerationReader) -> None:
        self.app = app
        self.cache = cache
        self.reader = reader
        self._off_until = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (not cacheable(scope) or self.cache.ttl <= 0 or tried(scope)
                or time.monotonic() < self._off_until):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        try:
            tag = await self.reader.read(package_of(path))
        except Exception:
            log.warning("metadata cache: cannot read generations; using the routed path for "
                        "%ss", RETRY_AFTER, exc_info=True)
            self.reader.reset()
            self._off_until = time.monotonic() + RETRY_AFTER
            await self.app(scope, receive, send)
            return
        entry = self.cache.get(path, tag)
        if entry is not None:
            await self._send(scope, send, entry)
            return
        if scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        status = 0
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            # A 200 is held until its body is whole, then answered as the hits of the entry
            # it becomes (its ETag and Cache-Control; 304 for a matching If-None-Match).
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                if any(k.lower() == b"x-vouch-upstream" for k, _ in message.get("headers", ())):
                    status = -1  # a proxied upstream document (issue 17): its TTL, not ours
                if status == 200:
                    return
            elif message["type"] == "http.response.body" and status == 200:
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    await self._send(scope, send, self.cache.put(path, b"".join(chunks), tag))
                return
            await send(message)

        await self.app(scope, receive, capture)

    @staticmethod
    async def _send(scope: Scope, send: Send, entry: Entry) -> None:
        status, headers, _, body = entry.answer(scope)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class DocumentAnswers:
    """The protocol's answerer for cached documents (``app.core.protocol_answers``): the hits
    the front door's ``CachedReads`` would send, under the same condition (the tag read for
    this request is the entry's), without the ASGI round. A miss, a stale entry, anything but
    a plain anonymous read, or a tag that cannot be read goes to the application, which
    decides from scratch."""

    def __init__(self, cache: DocumentCache, reader: GenerationReader) -> None:
        self.cache = cache
        self.reader = reader

    def __call__(self, scope: Scope) -> Answer | Pending | None:
        if (not plain_anonymous_read(scope) or not cacheable(scope) or self.cache.ttl <= 0
                or scope["path"] not in self.cache):
            return None
        path: str = scope["path"]
        return self.reader.answer_with(package_of(path), partial(self._answer, scope, path))

    def _answer(self, scope: Scope, path: str, tag: Tag) -> Answer | None:
        entry = self.cache.get(path, tag)
        if entry is None:
            return None
        status, _, head, body = entry.answer(scope)
        return Answer(status, head, body)
