"""The request-body layer: one pure ASGI guard in front of every route (issue 9).

    app.add_middleware(RequestGuard, json_body=BodyPolicy(1 << 20), max_json_depth=64,
                       overrides={publish_version: BodyPolicy(max_upload, streamed=True)})

What it does, in order, before any route or parser sees the request:

1. A path or query string holding NUL (``%00``) is refused: 400 ``nul_character``.
2. A declared ``Content-Length`` larger than any route accepts is refused at once (413
   ``payload_too_large``).
3. When the route starts reading its body, its endpoint (put in the scope by routing) decides
   the policy: JSON bodies (every route but the artifact upload) are capped at
   ``max_json_bytes`` (``/v1/querybatch`` and the advisory import at ``max_json_batch_bytes``);
   the multipart publish at the artifact limit. A declared length over the cap is refused
   before a byte is read, and a chunked body is counted as it arrives and refused the moment
   it crosses the cap, so the server never holds more than the cap.
4. A JSON body is read whole (it is small by now), checked for NUL characters and nesting depth
   (``app.core.input_guards``: 400 ``nul_character`` / ``malformed_input``) and handed on to the
   route as if it had just arrived. A streamed (multipart) body passes through, counted; its
   small fields are checked by the publish route with the same ``check_json_bytes``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import DomainError, NulCharacter, PayloadTooLarge
from app.core.input_guards import check_json_bytes, query_has_nul
from app.core.problems import problem


@dataclass(frozen=True)
class BodyPolicy:
    """How a route's request body is read: at most ``max_bytes``; JSON bodies are buffered and
    scanned, ``streamed`` ones (multipart uploads) are only counted."""

    max_bytes: int
    streamed: bool = False


class RejectedInput(HTTPException):
    """A guard's refusal raised from inside ``receive``: FastAPI re-raises HTTP exceptions from
    body reading untouched (others become a generic 400), and ``app.core.problems`` answers it with
    the domain error's own status and code."""

    def __init__(self, error: DomainError) -> None:
        super().__init__(error.status, error.detail)
        self.error = error


class RequestGuard:
    def __init__(self, app: ASGIApp, *, json_body: BodyPolicy,
                 overrides: Mapping[Callable[..., Any], BodyPolicy], max_json_depth: int) -> None:
        self.app = app
        self.json_body = json_body
        self.overrides = dict(overrides)
        self.max_json_depth = max_json_depth
        self.largest = max([json_body.max_bytes, *(p.max_bytes for p in self.overrides.values())])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope["path"] or query_has_nul(scope.get("query_string", b"")):
            where = "the path" if "\x00" in scope["path"] else "the query string"
            await _refuse(NulCharacter(f"{where} contains a NUL character", field=where),
                          scope, receive, send)
            return
        declared, chunked = _body_headers(scope)
        if not chunked and not declared:
            await self.app(scope, receive, send)
            return
        if declared is not None and declared > self.largest:  # too large for any route
            await _refuse(_too_large(self.largest), scope, receive, send)
            return
        await self.app(scope, self._guarded(scope, receive, declared), send)

    def policy(self, scope: Scope) -> BodyPolicy:
        """The policy of the route serving this request: routing has put its endpoint in the
        scope by the time the route reads the body (JSON unless overridden)."""
        return self.overrides.get(scope.get("endpoint"), self.json_body)  # type: ignore[arg-type]

    def _guarded(self, scope: Scope, receive: Receive, declared: int | None) -> Receive:
        state: dict[str, Any] = {"first": True, "seen": 0, "policy": None}

        async def guarded() -> Message:
            if state["first"]:
                state["first"] = False
                policy = state["policy"] = self.policy(scope)
                if declared is not None and declared > policy.max_bytes:
                    raise RejectedInput(_too_large(policy.max_bytes))
                if not policy.streamed:
                    return await self._read_json(receive, policy.max_bytes)
            message = await receive()
            policy = state["policy"]
            if message["type"] == "http.request" and policy.streamed:
                state["seen"] += len(message.get("body", b""))
                if state["seen"] > policy.max_bytes:
                    raise RejectedInput(_too_large(policy.max_bytes))
            return message

        return guarded

    async def _read_json(self, receive: Receive, limit: int) -> Message:
        """The whole body as one message, after the size cap and the JSON checks."""
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return message  # the client went away
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > limit:
                raise RejectedInput(_too_large(limit))
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        try:
            check_json_bytes(body, max_depth=self.max_json_depth)
        except DomainError as err:
            raise RejectedInput(err) from err
        return {"type": "http.request", "body": body, "more_body": False}


def _body_headers(scope: Scope) -> tuple[int | None, bool]:
    """(declared Content-Length or None, whether the body is chunked)."""
    declared: int | None = None
    chunked = False
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                declared = int(value)
            except ValueError:
                declared = None
        elif key == b"transfer-encoding":
            chunked = True
    return declared, chunked


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the request body is larger than {limit} bytes", limit=limit)


async def _refuse(err: DomainError, scope: Scope, receive: Receive, send: Send) -> None:
    # Answer without reading (more of) the body; the server closes the connection afterwards.
    response = problem(err.status, err.code, err.title, err.detail, **err.extra)
    await response(scope, receive, send)
