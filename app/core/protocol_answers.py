"""Requests a fast path can answer from memory, answered by `vouch serve`'s HTTP protocol.

    uvicorn.run(..., http=protocol_for(settings))     # tests/support/server.py
    uvicorn.run(..., http="app.core.protocol_answers:worker_protocol")   # app/asgi.py serve
    app.state.protocol_answers = [document_answers, pages.answer]    # app/main.py

An ASGI request costs uvicorn a task, the application's call chain and a header check per
response header; a cached metadata document costs tens of microseconds more to send through
all that than to find (issue 13: under load that was most of a worker's time on metadata
reads). Here the protocol asks the application's *answerers* first: a plain GET or HEAD as
soon as its head is parsed, before uvicorn builds a cycle for it; any other request once
uvicorn has built its scope and cycle (so pipelining, keep-alive, the concurrency limit and
shutdown work as for any request). An answerer returns:

- ``None``: not for it; the request runs through the application as usual;
- an ``Answer``: the protocol writes it (status line, uvicorn's default headers, the answer's
  header lines, ``connection: close`` when the connection ends, the body) and completes the
  request, as ``RequestResponseCycle.send`` would;
- an ``Answer`` with a ``FileBody``: the head as above, then the file with ``sendfile``
  (``app.core.send_file``); the request completes once the file is sent, and a client that
  stops reading has its connection aborted after ``body_idle_timeout``;
- a ``Pending``: a future and a ``then`` that turns its outcome into an ``Answer`` or ``None``
  (a PostgreSQL read shared with other requests); the request stays in progress meanwhile
  (its cycle, or a ``_Held`` in its place), so a pipelined request waits its turn.

While the client is not reading what it was sent (the transport paused writing), nothing is
answered here: the application's path waits for the buffer to drain and uvicorn stops reading
pipelined requests, so a client cannot make answers pile up in memory.

An answerer sees the scope as uvicorn built it, before any ASGI middleware (no proxy headers
applied): it must answer only what does not depend on them, and only requests that the
application would have answered with the same bytes. It must not raise; an answerer's
surprise is logged and the request goes to the application, which answers it from scratch.
The answer types are ``app.core.answers`` (importable without uvicorn).
"""

from __future__ import annotations

import asyncio
import logging
import os
import urllib.parse
from collections.abc import Callable
from functools import cache, partial
from typing import TYPE_CHECKING, Any, cast

import httptools
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, RequestResponseCycle
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

from app.core.answers import Answer, Answerer, FileBody, Pending, header_lines
from app.core.coalesced_writes import CoalescingProtocol
from app.core.send_file import send_file
from app.core.slow_clients import BODY_HEADERS, protocol_factory

if TYPE_CHECKING:
    from starlette.types import Scope

    from app.core.config import Settings

log = logging.getLogger("vouch.protocol_answers")


def answerers_of(app: Any) -> list[Answerer]:
    """The answerers of the application uvicorn loaded: ``state.protocol_answers`` of the
    first application found through the ``app`` attributes of uvicorn's wrappers."""
    for _ in range(8):
        if app is None:
            break
        found = getattr(getattr(app, "state", None), "protocol_answers", None)
        if found is not None:
            return list(found)
        app = getattr(app, "app", None)
    return []


_defaults: tuple[object, bytes] = (None, b"")


def _default_lines(default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """uvicorn's default headers (``date``, ``server``) as header lines; uvicorn replaces the
    list once a second, so they are encoded once per list."""
    global _defaults
    if _defaults[0] is not default_headers:
        _defaults = (default_headers, header_lines(default_headers))
    return _defaults[1]


#: Requests asked of the answerers before uvicorn builds its cycle (bodiless, see ``_lean``).
_LEAN_METHODS = frozenset((b"GET", b"HEAD"))


class _NoEvent:
    """A held request's message event: no ASGI task waits on it."""

    def set(self) -> None:
        return None


_NO_EVENT = _NoEvent()


class _Held:
    """What uvicorn's protocol keeps as ``self.cycle`` while an answer of a request asked
    before its cycle was built is pending: the attributes uvicorn reads and sets there (a
    pipelined request waits while ``response_complete`` is false; ``connection_lost`` sets
    ``disconnected``; ``shutdown`` clears ``keep_alive``; ``on_message_complete`` clears
    ``more_body``), and those ``_write`` completes, as for a cycle."""

    __slots__ = (
        "disconnected",
        "keep_alive",
        "message_event",
        "more_body",
        "on_response",
        "response_complete",
        "response_started",
        "scope",
    )

    def __init__(self, scope: Any, keep_alive: bool, on_response: Callable[[], None]) -> None:
        self.scope = scope
        self.keep_alive = keep_alive
        self.on_response = on_response
        self.response_started = self.response_complete = False
        self.disconnected = False
        self.more_body = True
        self.message_event = _NO_EVENT


class AnsweringProtocol(CoalescingProtocol):
    """The slow-client, coalescing protocol, asking the application's answerers first.

    A plain request (GET or HEAD, HTTP/1.1, no body, not an upgrade, no request of the
    connection in progress, no concurrency limit) is asked of the answerers as soon as its
    head is parsed, before uvicorn builds its cycle (a ``RequestResponseCycle`` with an
    ``asyncio.Event``): an answer is written there and then; a pending one holds the
    connection's place with a ``_Held``; a request no answerer takes gets uvicorn's cycle and
    task as before (issue 13: the cycle and its bookkeeping were 7 µs of a cached read's 12,
    in process). Every other request takes uvicorn's path, and is asked when its task would
    start (``_start_asgi_task``).
    """

    _answered_early = False  # the request being parsed was answered in ``on_headers_complete``
    _declined = False  # ... or asked there, and declined: its task starts without asking again

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._answerers = answerers_of(self.app)
        self._sending: set[asyncio.Task[None]] = set()  # a file being sent (kept referenced)

    def on_headers_complete(self) -> None:
        if self._lean():
            return
        try:
            super().on_headers_complete()
        finally:
            self._declined = False

    def on_message_complete(self) -> None:
        if self._answered_early:
            self._answered_early = False
            return
        super().on_message_complete()

    def _lean(self) -> bool:
        """Ask the answerers about a plain request before uvicorn's cycle exists. True when
        answered or held; False for uvicorn's path (``_declined`` set if they were asked)."""
        parser = self.parser
        cycle = self.cycle
        if (not self._answerers or self.limit_concurrency is not None or self.flow.write_paused
                or (cycle is not None and not cycle.response_complete)
                or parser.get_method() not in _LEAN_METHODS
                or parser.get_http_version() != "1.1" or parser.should_upgrade()
                or any(name in BODY_HEADERS for name, _ in self.headers)):
            return False
        self._waiting_since = None  # the head is complete (``slow_clients``)
        scope = self._lean_scope()
        answer = self._ask(scope)
        if answer is None:
            self._declined = True
            return False
        keep_alive = parser.should_keep_alive()
        if isinstance(answer, Pending) or answer.file is not None:
            # In progress until answered or its file is sent: a _Held keeps its place.
            held = _Held(scope, keep_alive, self.on_response_complete)
            self.cycle = held  # type: ignore[assignment]
            if isinstance(answer, Pending):
                answer.future.add_done_callback(partial(self._settle, held, answer.then))
            else:
                self._write(held, answer)
        else:
            self._answered_early = True
            self._send(scope, keep_alive, answer)
            self.on_response_complete()
        return True

    def _ask(self, scope: Any) -> Answer | Pending | None:
        """The first answer of the answerers, in order; ``None`` when none takes the request
        or one fails (logged: the application answers it from scratch)."""
        for answerer in self._answerers:
            try:
                answer = answerer(cast("Scope", scope))
            except Exception:
                log.exception("a protocol answerer failed; the application answers")
                return None
            if answer is not None:
                return answer
        return None

    def _lean_scope(self) -> dict[str, Any]:
        """The scope as uvicorn's ``on_headers_complete`` completes it (method, path, raw path,
        query string), for an HTTP/1.1 request."""
        scope: dict[str, Any] = self.scope  # type: ignore[assignment]
        scope["method"] = self.parser.get_method().decode("ascii")
        parsed = httptools.parse_url(self.url)
        raw_path = parsed.path
        path = raw_path.decode("ascii")
        if "%" in path:
            path = urllib.parse.unquote(path)
        scope["path"] = self.root_path + path
        scope["raw_path"] = self.root_path.encode("ascii") + raw_path
        scope["query_string"] = parsed.query or b""
        return scope

    def _run_held(self, held: _Held) -> None:
        """Give a held request to the application: uvicorn's cycle for it, its body done."""
        cycle = RequestResponseCycle(
            scope=held.scope, transport=self.transport, flow=self.flow, logger=self.logger,
            access_logger=self.access_logger, access_log=self.access_log,
            default_headers=self.server_state.default_headers, message_event=asyncio.Event(),
            expect_100_continue=False, keep_alive=held.keep_alive,
            on_response=self.on_response_complete)
        cycle.more_body = held.more_body
        if self.cycle is held:  # type: ignore[comparison-overlap]
            self.cycle = cycle
        super()._start_asgi_task(cycle, self.app)

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        # Not uvicorn's 503 for the concurrency limit, and not while the client is not reading
        # what it was sent: the application's path waits for the buffer to drain and stops
        # reading pipelined requests, where answers here would pile up in memory.
        if app is self.app and not self.flow.write_paused and not self._declined:
            answer = self._ask(cycle.scope)
            if isinstance(answer, Pending):
                answer.future.add_done_callback(partial(self._settle, cycle, answer.then))
                return
            if answer is not None:
                self._write(cycle, answer)
                return
        super()._start_asgi_task(cycle, app)

    def _settle(self, cycle: RequestResponseCycle | _Held,
                then: Callable[[asyncio.Future[Any]], Answer | None],
                future: asyncio.Future[Any]) -> None:
        """A pending answer is ready: write it, or give the request to the application (its
        answerer declined or failed, or the client is not reading: then before ``then``, so
        a download counts once)."""
        if cycle.disconnected:
            return  # the connection is gone: nothing to answer, no one to wait for us
        answer = None
        if not self.flow.write_paused:
            try:
                answer = then(future)
            except Exception:
                log.exception("a protocol answerer failed; the application answers")
        if answer is not None:
            self._write(cycle, answer)
        elif isinstance(cycle, _Held):
            self._run_held(cycle)
        else:
            super()._start_asgi_task(cycle, self.app)

    def _write(self, cycle: RequestResponseCycle | _Held, answer: Answer) -> None:
        """What ``RequestResponseCycle.send`` does for a response sent in one piece; an
        answer with a file completes once the file is sent (``_send_file``)."""
        cycle.response_started = True
        if answer.file is not None:
            self._send(cycle.scope, cycle.keep_alive, answer, close=False)
            task = asyncio.get_running_loop().create_task(self._send_file(cycle, answer.file))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
            return
        cycle.response_complete = True
        self._send(cycle.scope, cycle.keep_alive, answer)
        self._completed(cycle)

    @staticmethod
    def _completed(cycle: RequestResponseCycle | _Held) -> None:
        cycle.message_event.set()
        cycle.on_response()

    async def _send_file(self, cycle: RequestResponseCycle | _Held, body: FileBody) -> None:
        """Send an answer's file after its head, then complete its request (and close the
        connection unless it is kept alive). A client gone, or one that reads nothing for
        ``body_idle_timeout`` seconds, gets the connection aborted: its response is
        incomplete, which its ``content-length`` shows. Closes the file in every case."""
        try:
            sent = await send_file(self.transport, self.flow, body.fd, body.size,
                                   idle_timeout=self.body_idle_timeout)
        except OSError:
            log.exception("an answer's file could not be read; the connection is aborted")
            sent = False
        finally:
            os.close(body.fd)
        if not sent or cycle.disconnected:
            self.transport.abort()
            return
        cycle.response_complete = True
        self._completed(cycle)
        if not cycle.keep_alive:
            self.transport.close()

    def _send(self, scope: Any, keep_alive: bool, answer: Answer, *, close: bool = True) -> None:
        """Write ``answer`` (the access log line included, when uvicorn's access log is on);
        unless ``keep_alive``, say so in the head, and close the connection after it if
        ``close``."""
        if self.access_log:
            self.access_logger.info('%s - "%s %s HTTP/%s" %d', get_client_addr(scope),
                                    scope["method"], get_path_with_query_string(scope),
                                    scope["http_version"], answer.status)
        ending = b"" if keep_alive else b"connection: close\r\n"
        self.transport.write(b"".join((
            STATUS_LINE[answer.status], _default_lines(self.server_state.default_headers),
            answer.head, ending, b"\r\n", answer.body)))
        if close and not keep_alive:
            self.transport.close()


def worker_protocol(**uvicorn_arguments: Any) -> AnsweringProtocol:
    """A connection's protocol in a worker of `vouch serve`, whose master names this function
    to uvicorn by its import path, so the master loads neither this module nor the settings
    (issue 13: their pydantic was 12 MiB of the master's 40): ``protocol_for`` the settings
    the worker's environment gives (read once). Raises ``pydantic.ValidationError`` for
    settings that do not validate, as the worker's application would."""
    return _worker_factory()(**uvicorn_arguments)


@cache
def _worker_factory() -> partial[AnsweringProtocol]:
    from app.core.config import Settings

    return protocol_for(Settings())


def protocol_for(settings: Settings) -> partial[AnsweringProtocol]:
    """The protocol `vouch serve` (and the test server) builds connections with: the
    slow-client deadlines (``slow_clients``), one write per small response
    (``coalesced_writes``) and the answerers (picklable, for workers)."""
    deadlines = protocol_factory(settings)
    return partial(AnsweringProtocol, *deadlines.args, **deadlines.keywords)
