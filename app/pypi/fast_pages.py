"""Simple API project pages from memory, before routing: what pip and uv ask for most.

    app.add_middleware(SimplePages, engine=registry.engine, reader=generations)

Answers ``GET``/``HEAD /simple/<normalised name>/`` (no query string) from a page rendered
under the package's current read generation (``app.publishing.generations``: bumped by
database triggers in the same transaction as any change to the package, its versions, files or
provenance, on any replica). The tag is read before a page is rendered, so a page is never
newer than it claims and a write committed before a request is always seen (issue 13's rule).
A miss renders in a worker thread with one read session. Anything else (unnormalised names,
unknown projects, a database that cannot answer, other paths) goes to the routed path, which
has the redirects and the problem+json answers.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict

import anyio.to_thread
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.db import session_scope
from app.core.errors import PackageNotFound
from app.publishing.generations import GenerationReader, Tag
from app.pypi import index
from formats.pypi import index as documents
from formats.pypi.names import is_normalized

log = logging.getLogger("vouch.pypi.pages")

PREFIX = "/simple/"
RETRY_AFTER = 5.0


class SimplePages:
    def __init__(self, app: ASGIApp, engine: Engine, reader: GenerationReader,
                 max_entries: int = 20_000) -> None:
        self.app = app
        self.engine = engine
        self.reader = reader
        self.max_entries = max_entries
        self._pages: OrderedDict[tuple[str, str], tuple[Tag, bytes, bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self._off_until = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = _project(scope)
        if name is None or time.monotonic() < self._off_until:
            await self.app(scope, receive, send)
            return
        media = documents.negotiate(_header(scope, b"accept"))
        try:
            tag = await self.reader.read(name)
            key = (name, media)
            found = self._pages.get(key)
            if found is None or found[0] != tag:
                body = await anyio.to_thread.run_sync(self._render, name, media)
                if body is None:  # no such project: the routed path answers 404
                    await self.app(scope, receive, send)
                    return
                found = (tag, body, _etag(body))
                with self._lock:
                    self._pages[key] = found
                    while len(self._pages) > self.max_entries:
                        self._pages.popitem(last=False)
        except Exception:
            log.warning("simple pages: cannot read or render; using the routed path for %ss",
                        RETRY_AFTER, exc_info=True)
            self.reader.reset()
            self._off_until = time.monotonic() + RETRY_AFTER
            await self.app(scope, receive, send)
            return
        await _send(scope, send, media, found[1], found[2])

    def _render(self, name: str, media: str) -> bytes | None:
        with session_scope(self.engine) as session:
            try:
                page = index.project_page(session, name)
            except PackageNotFound:
                return None
            return documents.project_page(page, media)


def _project(scope: Scope) -> str | None:
    if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
        return None
    path: str = scope["path"]
    if not path.startswith(PREFIX) or not path.endswith("/") or scope.get("query_string"):
        return None
    name = path[len(PREFIX):-1]
    return name if name and "/" not in name and is_normalized(name) else None


def _header(scope: Scope, key: bytes) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == key:
            return str(value.decode("latin-1"))
    return None


def _etag(body: bytes) -> bytes:
    return b'"' + hashlib.sha256(body).hexdigest()[:32].encode() + b'"'


async def _send(scope: Scope, send: Send, media: str, body: bytes, etag: bytes) -> None:
    headers = [(b"vary", b"Accept"), (b"etag", etag),
               (b"cache-control", b"max-age=0, must-revalidate")]
    if (_header(scope, b"if-none-match") or "").encode() == etag:
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    headers += [(b"content-type", documents.content_type(media).encode()),
                (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body",
                "body": body if scope["method"] == "GET" else b""})
