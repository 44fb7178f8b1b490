"""Requests a fast path can answer from memory, answered by `vouch serve`'s HTTP protocol.

    uvicorn.run(..., http=protocol_for(settings))     # tests/support/server.py
    uvicorn.run(..., http="app.core.protocol_answers:worker_protocol")   # app/asgi.py serve
    app.state.protocol_answers = [document_answers, pages.answer]    # app/main.py

An ASGI request costs uvicorn a task, the application's call chain and a header check per
response header; a cached metadata document costs tens of microseconds more to send through
all that than to find (issue 13: under load that was most of a worker's time on metadata
reads). Here the protocol asks the application's *answerers* first, once uvicorn has parsed the
request and built its scope and cycle (so pipelining, keep-alive, the concurrency limit and
shutdown work as for any request). An answerer returns:

- ``None``: not for it; the request runs through the application as usual;
- an ``Answer``: the protocol writes it (status line, uvicorn's default headers, the answer's
  header lines, ``connection: close`` when the connection ends, the body) and completes the
  cycle, as ``RequestResponseCycle.send`` would;
- a ``Pending``: a future and a ``then`` that turns its outcome into an ``Answer`` or ``None``
  (a PostgreSQL read shared with other requests); the cycle stays open meanwhile, so a
  pipelined request waits its turn.

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
from collections.abc import Callable
from functools import cache, partial
from typing import TYPE_CHECKING, Any, cast

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, RequestResponseCycle
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

from app.core.answers import Answer, Answerer, Pending, header_lines
from app.core.coalesced_writes import CoalescingProtocol
from app.core.slow_clients import protocol_factory

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


class AnsweringProtocol(CoalescingProtocol):
    """The slow-client, coalescing protocol, asking the application's answerers first."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._answerers = answerers_of(self.app)

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        # Not uvicorn's 503 for the concurrency limit, and not while the client is not reading
        # what it was sent: the application's path waits for the buffer to drain and stops
        # reading pipelined requests, where answers here would pile up in memory.
        if app is self.app and not self.flow.write_paused:
            for answerer in self._answerers:
                try:
                    answer = answerer(cast("Scope", cycle.scope))
                except Exception:
                    log.exception("a protocol answerer failed; the application answers")
                    break
                if answer is None:
                    continue
                if isinstance(answer, Pending):
                    answer.future.add_done_callback(
                        partial(self._settle, cycle, app, answer.then))
                else:
                    self._write(cycle, answer)
                return
        super()._start_asgi_task(cycle, app)

    def _settle(self, cycle: RequestResponseCycle, app: Any,
                then: Callable[[asyncio.Future[Any]], Answer | None],
                future: asyncio.Future[Any]) -> None:
        if cycle.disconnected:
            return  # the connection is gone: nothing to answer, no one to wait for us
        if self.flow.write_paused:
            super()._start_asgi_task(cycle, app)  # before ``then``: a download counts once
            return
        try:
            answer = then(future)
        except Exception:
            log.exception("a protocol answerer failed; the application answers")
            answer = None
        if answer is None:
            super()._start_asgi_task(cycle, app)
        else:
            self._write(cycle, answer)

    def _write(self, cycle: RequestResponseCycle, answer: Answer) -> None:
        """What ``RequestResponseCycle.send`` does for a response sent in one piece (the
        access log line included, when uvicorn's access log is on)."""
        cycle.response_started = cycle.response_complete = True
        if cycle.access_log:
            scope = cycle.scope
            cycle.access_logger.info('%s - "%s %s HTTP/%s" %d', get_client_addr(scope),
                                     scope["method"], get_path_with_query_string(scope),
                                     scope["http_version"], answer.status)
        close = b"" if cycle.keep_alive else b"connection: close\r\n"
        self.transport.write(b"".join((
            STATUS_LINE[answer.status], _default_lines(cycle.default_headers), answer.head,
            close, b"\r\n", answer.body)))
        cycle.message_event.set()
        if not cycle.keep_alive:
            self.transport.close()
        cycle.on_response()


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
