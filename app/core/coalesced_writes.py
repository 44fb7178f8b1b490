"""One send per small response: a response's head and body leave in one write (issue 13).

    uvicorn.run(..., http=coalesced(protocol_factory(settings)))     # app/asgi.py serve

uvicorn writes a response's status line and headers as soon as the application sends
``http.response.start``, and the body in a second write: two ``send`` system calls and two TCP
segments for a 1 KiB download or a cached document. On loopback the receiver's half of each
segment is processed in the sender's system call, so under load that first write was the
largest single cost of a cached read (a third of a worker's samples). Here the protocol's
transport holds writes made within one turn of the event loop and sends them together at the
end of the turn (``call_soon``), so a response sent in one step (the fast paths send head and
body back to back) is one ``send``. Anything of ``FLUSH_AT`` bytes or more goes out at once
(with what is held before it, in order), so streamed bodies keep the transport's flow control;
closing the connection sends what is held first; nothing is held past the current turn.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from app.core.slow_clients import DeadlineHttpToolsProtocol

FLUSH_AT = 64 * 1024


class CoalescingTransport:
    """A transport whose writes of one loop turn leave as one write; all else is delegated."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []
        self._size = 0

    def write(self, data: bytes) -> None:
        if not self._held:
            if len(data) >= FLUSH_AT:
                self._transport.write(data)
                return
            self._loop.call_soon(self.flush)
        self._held.append(bytes(data))
        self._size += len(data)
        if self._size >= FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        if not self._held:
            return
        data = b"".join(self._held)
        self._held.clear()
        self._size = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held.clear()
        self._size = 0
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingProtocol(DeadlineHttpToolsProtocol):
    """The slow-client protocol (app.core.slow_clients) over a ``CoalescingTransport``."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        wrapped: Any = CoalescingTransport(transport, asyncio.get_running_loop())
        super().connection_made(wrapped)


def coalesced(factory: partial[DeadlineHttpToolsProtocol]) -> partial[CoalescingProtocol]:
    """``protocol_factory``'s partial, building ``CoalescingProtocol`` instead."""
    return partial(CoalescingProtocol, *factory.args, **factory.keywords)
