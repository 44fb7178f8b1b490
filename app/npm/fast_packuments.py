"""Packuments served from memory while their package is unchanged (issue 13's rule for npm).

    app.add_middleware(PackumentCache, reader=reader, entries=entries)   # app/main.py
    app.middleware_stack = PackumentCache(stack, reader=reader, entries=entries,
                                          anonymous_only=True)   # in front of the whole stack

A packument costs queries, a JSON parse per version and an encode; npm installs read them far
more often than anything changes. A plain ``GET /npm/{name}`` (or ``/npm/@scope/name``, no query
string) is answered from memory when the package's generation tag
(``app.publishing.generations``: raised by the database in the same transaction as every change
to the rows a packument is built from, on any replica) still equals the tag read before the
cached document was rendered; otherwise the routed path renders it and a 200 is kept if it
is a hosted package's (``HOSTED_HEADER``; a proxied packument never is: the proxy's own page
cache and ``metadata_ttl`` decide for those). Entries
are per scheme, ``Host`` (tarball URLs are absolute) and document kind (abbreviated or full),
and live at most ``ttl`` seconds (memory, not correctness). When the tag cannot be read the
routed path answers (it maps database errors). It sits inside the token gate, so a presented
token has been checked first. A second instance in front of the whole stack
(``anonymous_only``) answers plain anonymous hits from the same entries before the request
guard, the token gate and Starlette's layers, which have nothing to do for them (as
``app.publishing.front_door`` does for native reads).
"""

from __future__ import annotations

import functools
import time
from collections import OrderedDict
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.publishing.generations import GenerationReader, Tag
from formats.npm.packument import wants_abbreviated

PREFIX = "/npm/"
#: Set by the route on a hosted package's packument (removed here before it is sent): only
#: those are kept. Others (the upstream proxy's, issue 17) are not covered by the package's
#: generation: an org reserving the name or a purge makes them stale without raising it.
HOSTED_HEADER = b"x-vouch-hosted-packument"


@dataclass(frozen=True)
class _Entry:
    tag: Tag
    expires: float
    headers: list[tuple[bytes, bytes]]
    body: bytes


@functools.lru_cache(maxsize=256)
def _abbreviated(accept: bytes) -> bool:
    """``wants_abbreviated``, memoised: clients send a handful of distinct Accept values."""
    return wants_abbreviated(accept.decode("latin-1"))


def package_of(path: str) -> str | None:
    """The package a packument path names, or ``None`` for any other ``/npm/`` path."""
    if not path.startswith(PREFIX):
        return None
    rest = path[len(PREFIX):]
    parts = rest.split("/")
    if rest.startswith("-") or not rest or "" in parts:
        return None
    if len(parts) == 1 and not rest.startswith("@"):
        return rest
    if len(parts) == 2 and rest.startswith("@"):
        return rest
    return None


Entries = OrderedDict[tuple[object, ...], _Entry]
_NOT_PLAIN = (b"authorization", b"content-length", b"transfer-encoding")


def _plain(scope: Scope) -> bool:
    """No token, no body, no NUL: nothing for the request guard or the token gate to do."""
    return "\x00" not in scope["path"] and not any(
        key in _NOT_PLAIN for key, _ in scope["headers"])


class PackumentCache:
    """``entries``: share one store between the instance inside the stack and the
    ``anonymous_only`` one in front of it (which only answers hits and passes misses on, to be
    rendered and kept by the inner one)."""

    def __init__(self, app: ASGIApp, *, reader: GenerationReader, ttl: float = 30.0,
                 max_entries: int = 20_000, entries: Entries | None = None,
                 anonymous_only: bool = False) -> None:
        self.app = app
        self.reader = reader
        self.ttl = ttl
        self.max_entries = max_entries
        self.entries: Entries = OrderedDict() if entries is None else entries
        self.anonymous_only = anonymous_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = (package_of(scope["path"]) if scope["type"] == "http"
                and scope["method"] == "GET" and not scope.get("query_string") else None)
        if name is None or (self.anonymous_only and not _plain(scope)):
            await self.app(scope, receive, send)
            return
        host = accept = b""
        for header, value in scope["headers"]:
            if header == b"host":
                host = value
            elif header == b"accept":
                accept = value
        key = (scope.get("scheme"), host, scope.get("root_path", ""), name,
               _abbreviated(accept))
        try:
            tag = await self.reader.read(name)
        except Exception:  # the routed path answers (and maps) database errors
            await self.app(scope, receive, send)
            return
        entry = self.entries.get(key)
        if entry is not None and entry.tag == tag and entry.expires > time.monotonic():
            await send({"type": "http.response.start", "status": 200,
                        "headers": entry.headers})
            await send({"type": "http.response.body", "body": entry.body})
            return
        if self.anonymous_only:  # the instance inside the stack renders and keeps it
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, self._capture(key, tag, send))

    def _capture(self, key: tuple[object, ...], tag: Tag, send: Send) -> Send:
        started: dict[str, object] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                kept = [(k, v) for k, v in headers if k.lower() != HOSTED_HEADER]
                started.update(message, headers=kept, hosted=len(kept) != len(headers))
                message = {**message, "headers": kept}
            elif (message["type"] == "http.response.body" and started.get("status") == 200
                  and started.get("hosted")):
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    self._put(key, _Entry(tag, time.monotonic() + self.ttl,
                                          list(started.get("headers", [])),  # type: ignore[call-overload]
                                          b"".join(chunks)))
            await send(message)

        return capture

    def _put(self, key: tuple[object, ...], entry: _Entry) -> None:
        self.entries[key] = entry
        self.entries.move_to_end(key)
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)
