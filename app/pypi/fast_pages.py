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
from functools import partial

import anyio.to_thread
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.answers import Answer, Pending, header_lines
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


class _Page:
    """A rendered page: the tag it was rendered under, its body, a 200's headers (and as
    header lines, with a 304's: its first three)."""

    __slots__ = ("body", "head", "headers", "not_modified_head", "tag")

    def __init__(self, tag: Tag, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        self.tag, self.body, self.headers = tag, body, headers
        self.head, self.not_modified_head = header_lines(headers), header_lines(headers[:3])

    def answer(self, scope: Scope) -> tuple[int, list[tuple[bytes, bytes]], bytes, bytes]:
        """Status, headers (a list and header lines) and body: 304 when ``If-None-Match`` is
        the ETag, no body for ``HEAD``."""
        if (_header(scope, b"if-none-match") or "").encode() == self.headers[1][1]:
            return 304, self.headers[:3], self.not_modified_head, b""
        return (200, self.headers, self.head,
                self.body if scope["method"] == "GET" else b"")


class SimplePages:
    def __init__(self, app: ASGIApp, engine: Engine, reader: GenerationReader,
                 max_entries: int = 20_000, *, anonymous_only: bool = False) -> None:
        self.app = app
        self.engine = engine
        self.reader = reader
        self.max_entries = max_entries
        self.anonymous_only = anonymous_only
        self._pages: OrderedDict[tuple[str, str], _Page] = OrderedDict()
        self._media: dict[str | None, str] = {}
        self._lock = threading.Lock()
        self._off_until = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = _project(scope)
        if (name is None or time.monotonic() < self._off_until or TRIED in scope
                or (self.anonymous_only and not _plain(scope))):
            await self.app(scope, receive, send)
            return
        media = self._media_of(scope)
        try:
            tag = await self.reader.read(name)
            key = (name, media)
            found = self._pages.get(key)
            if found is None or found.tag != tag:
                body = await anyio.to_thread.run_sync(self._render, name, media)
                if body is None:  # no such project: the routed path answers 404
                    await self._pass_on(scope, receive, send)
                    return
                found = _Page(tag, body, _headers(media, body))
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
        status, headers, _, body = found.answer(scope)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def answer(self, scope: Scope) -> Answer | Pending | None:
        """The protocol's answerer (``app.core.protocol_answers``), on the instance in front
        of the stack: a kept page of a plain anonymous read, under the same tag check; all
        else goes to the application."""
        name = _project(scope)
        if name is None or not self.anonymous_only or not _plain(scope):
            return None
        key = (name, self._media_of(scope))
        if key not in self._pages:
            return None
        return self.reader.answer_with(name, partial(self._answer, scope, key))

    def _answer(self, scope: Scope, key: tuple[str, str], tag: Tag) -> Answer | None:
        found = self._pages.get(key)
        if found is None or found.tag != tag:
            return None
        status, _, head, body = found.answer(scope)
        return Answer(status, head, body)

    def _media_of(self, scope: Scope) -> str:
        accept = _header(scope, b"accept")
        media = self._media.get(accept)
        if media is None:
            media = documents.negotiate(accept)
            if len(self._media) < _MEDIA_MEMO:
                self._media[accept] = media
        return media

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
