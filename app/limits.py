"""A pure ASGI guard that caps request bodies before anything parses them.

A declared ``Content-Length`` over the cap is refused at once with 413; a chunked body is
counted as it streams and refused the moment it crosses the cap.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import PayloadTooLarge
from app.problems import problem


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            response = problem(413, PayloadTooLarge.code, PayloadTooLarge.title,
                               f"the request body is larger than {self.max_bytes} bytes",
                               limit=self.max_bytes)
            await _drain_and_send(response, scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise PayloadTooLarge(
                        f"the request body is larger than {self.max_bytes} bytes",
                        limit=self.max_bytes)
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _drain_and_send(response: Any, scope: Scope, receive: Receive, send: Send) -> None:
    # Answer without reading the body; the server closes the connection afterwards.
    await response(scope, receive, send)
