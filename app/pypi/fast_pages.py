"""Simple API project pages from memory, before routing: what pip and uv ask for most.

    app.add_middleware(SimplePages, engine=registry.engine, reader=generations)
    # and, outermost, for anonymous reads (no token, no body): before the whole stack
    app.middleware_stack = SimplePages(stack, engine=..., reader=..., anonymous_only=True)

Answers ``GET``/``HEAD /simple/<normalised name>/`` (no query string) from a page rendered
under the package's current read generation (``app.publishing.generations``: bumped by
database triggers in the same transaction as any change to the package, its versions, files or
provenance, on any replica). The tag is read before a page is rendered, so a page is never
newer than it claims and a write committed before a request is always seen (issue 13's rule).
A miss renders in a worker thread with one read session. Anything else (unnormalised names,
unknown projects, a database that cannot answer, other paths) goes to the routed path, which
has the redirects and the problem+json answers.

``anonymous_only``: the instance in front of the whole middleware stack answers only plain
reads (no ``Authorization``, no body), for which the stack has nothing to do (the request
guard checks bodies and NULs, which a normalised name cannot hold; the token gate checks
presented tokens), as ``app.publishing.front_door`` does for native reads. A request it passes
on is marked, so the instance inside the stack does not look an unknown project up again.
Answers are the same bytes and headers either way; each response is built from parts
rendered once per page (the header list) and per ``Accept`` value (the media type).
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
TRIED = "vouch.simple_pages_tried"  # scope key: the front instance passed this request on
_NOT_PLAIN = (b"authorization", b"content-length", b"transfer-encoding")
_MEDIA_MEMO = 256  # distinct Accept values remembered


class SimplePages:
    def __init__(self, app: ASGIApp, engine: Engine, reader: GenerationReader,
                 max_entries: int = 20_000, *, anonymous_only: bool = False) -> None:
        self.app = app
        self.engine = engine
        self.reader = reader
        self.max_entries = max_entries
        self.anonymous_only = anonymous_only
        self._pages: OrderedDict[tuple[str, str], tuple[Tag, bytes, list[tuple[bytes, bytes]]]] \
            = OrderedDict()
        self._media: dict[str | None, str] = {}
        self._lock = threading.Lock()
        self._off_until = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = _project(scope)
        if (name is None or time.monotonic() < self._off_until or TRIED in scope
                or (self.anonymous_only and not _plain(scope))):
            await self.app(scope, receive, send)
            return
        accept = _header(scope, b"accept")
        media = self._media.get(accept)
        if media is None:
            media = documents.negotiate(accept)
            if len(self._media) < _MEDIA_MEMO:
                self._media[accept] = media
        try:
            tag = await self.reader.read(name)
            key = (name, media)
            found = self._pages.get(key)
            if found is None or found[0] != tag:
                body = await anyio.to_thread.run_sync(self._render, name, media)
                if body is None:  # no such project: the routed path answers 404
                    await self._pass_on(scope, receive, send)
                    return
                found = (tag, body, _headers(media, body))
                with self._lock:
                    self._pages[key] = found
                    while len(self._pages) > self.max_entries:
                        self._pages.popitem(last=False)
        except Exception:
            log.warning("simple pages: cannot read or render; using the routed path for %ss",
                        RETRY_AFTER, exc_info=True)
            self.reader.reset()
            self._off_until = time.monotonic() + RETRY_AFTER
            await self._pass_on(scope, receive, send)
            return
        await _send(scope, send, found[1], found[2])

    async def _pass_on(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app({**scope, TRIED: True} if self.anonymous_only else scope, receive, send)

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


def _plain(scope: Scope) -> bool:
    """No token and no body: nothing for the request guard or the token gate to do."""
    return not any(key in _NOT_PLAIN for key, _ in scope["headers"])


def _headers(media: str, body: bytes) -> list[tuple[bytes, bytes]]:
    """A 200's headers: Vary, ETag (sha256 prefix of the body), Cache-Control, then
    Content-Type and Content-Length (a 304 sends the first three)."""
    etag = b'"' + hashlib.sha256(body).hexdigest()[:32].encode() + b'"'
    return [(b"vary", b"Accept"), (b"etag", etag),
            (b"cache-control", b"max-age=0, must-revalidate"),
            (b"content-type", documents.content_type(media).encode()),
            (b"content-length", str(len(body)).encode())]


async def _send(scope: Scope, send: Send, body: bytes,
                headers: list[tuple[bytes, bytes]]) -> None:
    if (_header(scope, b"if-none-match") or "").encode() == headers[1][1]:
        await send({"type": "http.response.start", "status": 304, "headers": headers[:3]})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": 200, "headers": list(headers)})
    await send({"type": "http.response.body",
                "body": body if scope["method"] == "GET" else b""})
