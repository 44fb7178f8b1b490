"""A response body sent from an open file with ``sendfile``: the bytes go from the page cache to
the socket in the kernel and never pass through Python (issue 13: a 10 MiB artifact streamed
by the routed path cost a worker about 11 ms of CPU and ran at a quarter of nginx's rate).

    sent = await send_file(transport, flow, fd, size, idle_timeout=30.0)

The transport stays the only writer of the connection: ``sendfile`` writes to its socket only
while the transport holds nothing unsent, so bytes never overtake one another. When the socket
is full (``EAGAIN``), a small slice of the file goes through the transport instead; the
transport then holds it, and the protocol's flow control (``pause_writing`` and
``resume_writing``, with the write buffer's limits at zero for the duration) says when the
socket has drained. Each ``sendfile`` call sends at most ``CHUNK`` bytes and the event loop
runs between calls, so one fast client does not keep a worker's other connections waiting.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, Protocol

#: Bytes per ``sendfile`` call: the event loop's other work runs between calls.
CHUNK = 1024 * 1024
#: Bytes written through the transport when the socket is full (it tells when it drained).
NUDGE = 16 * 1024


class Flow(Protocol):
    """uvicorn's ``FlowControl``: ``write_paused`` while the transport holds more than its
    limit; ``drain`` returns once it resumed writing (or the connection was lost)."""

    write_paused: bool

    async def drain(self) -> None: ...


async def send_file(transport: Any, flow: Flow, fd: int, size: int, *,
                    idle_timeout: float) -> bool:
    """Send the first ``size`` bytes of ``fd`` on ``transport``'s socket, after whatever the
    transport holds. True once all are handed to the kernel; False when the connection closed,
    the client read nothing for ``idle_timeout`` seconds while the socket was full, or the file
    ended early: the response is then incomplete, and the caller must abort the connection.
    Does not close ``fd``. Raises ``OSError`` for a read error of the file."""
    socket = transport.get_extra_info("socket")
    if socket is None:
        return False
    out = socket.fileno()
    low, high = transport.get_write_buffer_limits()
    transport.set_write_buffer_limits(high=0, low=0)  # paused while anything is unsent
    offset = 0
    try:
        _flush(transport)  # the head (a coalescing transport holds it to the loop turn's end)
        while offset < size:
            if transport.is_closing():
                return False
            if transport.get_write_buffer_size():
                if not await _drained(flow, idle_timeout):
                    return False
                continue
            count = min(CHUNK, size - offset)
            try:
                sent = os.sendfile(out, fd, offset, count)
            except BlockingIOError:
                sent = _nudge(transport, fd, offset, min(NUDGE, count))
            if sent == 0:
                return False  # the file is shorter than its recorded size
            offset += sent
            await asyncio.sleep(0)
        return True
    finally:
        if not transport.is_closing():
            transport.set_write_buffer_limits(high=high, low=low)


def _nudge(transport: Any, fd: int, offset: int, count: int) -> int:
    """Write ``count`` bytes of the file at ``offset`` through the transport, which holds what
    the full socket refuses and pauses the protocol until it has drained."""
    data = os.pread(fd, count, offset)
    if data:
        transport.write(data)
        _flush(transport)
    return len(data)


def _flush(transport: Any) -> None:
    flush = getattr(transport, "flush", None)
    if flush is not None:
        flush()


async def _drained(flow: Flow, idle_timeout: float) -> bool:
    if not flow.write_paused:  # held for the loop turn's end (uvloop), not refused
        await asyncio.sleep(0)
        return True
    try:
        await asyncio.wait_for(flow.drain(), idle_timeout)
    except TimeoutError:
        return False
    return True
