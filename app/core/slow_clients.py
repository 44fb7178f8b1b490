"""Deadlines for clients that trickle a request (issue 9), for ``vouch serve``.

    uvicorn.run("app.asgi:build", factory=True, http=protocol_factory(settings), ...)

uvicorn closes a connection that stays idle between requests (``timeout_keep_alive``), but
nothing bounds a request while it arrives: a client that sends one header byte every few
seconds, or a body that never ends, holds a connection (and its memory) for ever. This
protocol (uvicorn's httptools protocol with three timers) closes the connection when:

- the request line and headers have not all arrived ``request_header_timeout`` after the
  connection opened or the previous response was sent (one timer for the whole head: a
  trickle of bytes does not reset it);
- the body has not advanced for ``request_body_idle_timeout`` while the server was ready to
  read (the timer re-arms itself while the application is not reading: back-pressure is the
  server's doing, not the client's);
- the body is not complete ``request_body_timeout`` after its headers arrived.

The connection is closed without a response; a request whose handler already runs sees a
disconnect. Nothing here depends on the application: the timers live in the protocol.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING, Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.core.reason_phrase import use_reason_header

if TYPE_CHECKING:
    from app.core.config import Settings


#: A request has a body only if it says so (RFC 9112 6.3: no length and no transfer coding on a
#: request means a body of length zero).
BODY_HEADERS = (b"content-length", b"transfer-encoding")


class DeadlineHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header deadline and body deadlines.

    The head deadline and uvicorn's keep-alive timeout share one timer per connection, armed
    when the connection starts waiting for a request and moved only when it fires: a
    keep-alive request costs no timer of its own (issue 13: uvicorn's keep-alive timer and the
    head timer were two timers made and cancelled per request, 1.5-2 µs of a cached read's
    12). So ``on_response_complete`` is uvicorn's without its keep-alive timer.
    """

    def __init__(self, *args: Any, header_timeout: float, body_idle_timeout: float,
                 body_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self.body_idle_timeout = body_idle_timeout
        self.body_timeout = body_timeout
        self._waiting_since: float | None = None  # loop time the wait for a head began
        self._idle_counts = False  # whether the keep-alive timeout applies to this wait
        self._bytes_seen = False  # bytes have arrived since the wait began
        self._watch: asyncio.TimerHandle | None = None  # head deadline and keep-alive
        self._idle_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None

    # -- connection and parser callbacks -------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._wait_for_head(idle_counts=False)  # a new connection has the head deadline only

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_all()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._bytes_seen = True
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._waiting_since is None:  # pipelined: its head began before a response ended
            self._wait_for_head(idle_counts=False)

    def on_headers_complete(self) -> None:
        self._waiting_since = None
        super().on_headers_complete()
        # Only a request with a body has a body to time, or can be an upload whose message
        # goes in the status line (twine): a GET or HEAD costs no timer and no wrapper
        # (issue 13: a cached read is tens of microseconds; these were several of them).
        if not any(name in BODY_HEADERS for name, _ in self.headers):
            return
        use_reason_header(self.cycle)
        self._idle_timer = self.loop.call_later(self.body_idle_timeout, self._body_idle)
        self._body_timer = self.loop.call_later(self.body_timeout, self._expire)

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = self.loop.call_later(self.body_idle_timeout, self._body_idle)

    def on_message_complete(self) -> None:
        self._cancel("_idle_timer")
        self._cancel("_body_timer")
        super().on_message_complete()

    def on_response_complete(self) -> None:
        # uvicorn's, less its keep-alive timer: the next request's wait has both deadlines.
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        else:
            self._wait_for_head(idle_counts=True)

    # -- timers --------------------------------------------------------------------------------
    def _wait_for_head(self, *, idle_counts: bool) -> None:
        self._waiting_since = now = self.loop.time()
        self._idle_counts = idle_counts
        self._bytes_seen = False
        due = now + (min(self.header_timeout, self.timeout_keep_alive) if idle_counts
                     else self.header_timeout)
        watch = self._watch
        if watch is not None and watch.when() <= due:
            return  # it fires in time, and finds the new wait
        if watch is not None:
            watch.cancel()
        self._watch = self.loop.call_at(due, self._check)

    def _check(self) -> None:
        """The shared timer: close a connection whose head is late (``header_timeout`` after
        the wait began) or that sent nothing for ``timeout_keep_alive`` after a response, as
        uvicorn's keep-alive timer does; else wait for the nearer of the two."""
        self._watch = None
        since = self._waiting_since
        if since is None or self.transport is None or self.transport.is_closing():
            return  # a request is in progress: its response starts the next wait
        now = self.loop.time()
        due = since + self.header_timeout
        if now >= due:
            self._expire()
            return
        if self._idle_counts and not self._bytes_seen:
            idle_due = since + self.timeout_keep_alive
            if now >= idle_due:
                self.timeout_keep_alive_handler()
                return
            due = min(due, idle_due)
        self._watch = self.loop.call_at(due, self._check)

    def _body_idle(self) -> None:
        self._idle_timer = None
        if self.flow is not None and self.flow.read_paused:
            # The application is not reading (back-pressure): not the client's fault.
            self._idle_timer = self.loop.call_later(self.body_idle_timeout, self._body_idle)
            return
        self._expire()

    def _expire(self) -> None:
        self._cancel_all()
        if self.transport is not None and not self.transport.is_closing():
            self.logger.info("closing a connection that sent its request too slowly")
            self.transport.close()

    def _cancel(self, name: str) -> None:
        timer: asyncio.TimerHandle | None = getattr(self, name)
        if timer is not None:
            timer.cancel()
            setattr(self, name, None)

    def _cancel_all(self) -> None:
        self._waiting_since = None
        for name in ("_watch", "_idle_timer", "_body_timer"):
            self._cancel(name)


def protocol_factory(settings: Settings) -> partial[DeadlineHttpToolsProtocol]:
    """The protocol class uvicorn should build connections with (picklable, for workers)."""
    return partial(DeadlineHttpToolsProtocol,
                   header_timeout=settings.request_header_timeout.total_seconds(),
                   body_idle_timeout=settings.request_body_idle_timeout.total_seconds(),
                   body_timeout=settings.request_body_timeout.total_seconds())
