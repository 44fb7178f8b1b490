"""Anonymous plain reads of packages go to the fast paths before the middleware stack.

    app.middleware_stack = FrontDoor(app.build_middleware_stack(),
                                     fast=lambda rest: FastDownloads(CachedReads(rest, ...), ...))

A cached document or a small artifact costs tens of microseconds to answer; the stack in front
of the fast paths (Starlette's error middleware, FastAPI's telemetry and body-limit layers, the
request guard, the token gate) costs about as much again. None of those layers has anything to
do for a request that is ``GET``/``HEAD`` of ``/api/v1/packages/...`` without a query string,
a body, an ``Authorization`` header or a NUL in its path: the guard checks bodies and NULs, the
token gate checks presented tokens. Such a request enters the fast paths directly; anything
they do not answer (a cache miss, a refused download, a database outage) enters the whole stack
as any other request does, where the same fast paths sit behind the guard and the token gate
(for requests with a token); they let a request the front door already tried pass (``TRIED``
in its scope), so a miss is looked up once and filled by the front door's cache. An unexpected
exception before the response started hands the request to the whole stack as well (its error
middleware answers problem+json).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("vouch.front_door")

PREFIX = "/api/v1/packages/"
TRIED = "vouch.fast_paths_tried"  # scope key: the front door's fast paths passed this request on
_NOT_PLAIN = (b"authorization", b"content-length", b"transfer-encoding")


def plain_anonymous_read(scope: Scope) -> bool:
    """``GET``/``HEAD`` under ``/api/v1/packages/``: no query, body, token or NUL."""
    return scope["type"] == "http" and scope["path"].startswith(PREFIX) and plain_anonymous(scope)


def plain_anonymous(scope: Scope) -> bool:
    """An HTTP ``GET``/``HEAD`` with no query, body, token or NUL in its path: nothing for the
    request guard or the token gate to do."""
    if (scope["type"] != "http" or scope["method"] not in ("GET", "HEAD")
            or scope.get("query_string") or "\x00" in scope["path"]):
        return False
    return not any(key in _NOT_PLAIN for key, _ in scope["headers"])


def tried(scope: Scope) -> bool:
    """Whether the front door's fast paths already passed this request on."""
    return TRIED in scope


class FrontDoor:
    """``fast(rest)`` builds the fast paths over ``rest``: the whole stack, entered with the
    request marked as tried."""

    def __init__(self, stack: ASGIApp, fast: Callable[[ASGIApp], ASGIApp]) -> None:
        self.stack = stack

        async def rest(scope: Scope, receive: Receive, send: Send) -> None:
            await stack({**scope, TRIED: True}, receive, send)

        self.fast = fast(rest)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not plain_anonymous_read(scope):
            await self.stack(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.fast(scope, receive, tracked)
        except Exception:
            if started:
                raise
            log.exception("fast read path failed; the routed path answers")
            await self.stack(scope, receive, send)
