"""Custom HTTP reason phrases for `vouch serve` (twine shows only the status line's reason).

    headers["x-vouch-reason"] = "File already exists ..."   # set by a route on its response
    use_reason_header(cycle)     # in the protocol, for a request with a body (slow_clients)

PyPI puts an upload's error message into the status line (``HTTP/1.1 400 File already
exists ...``) because twine prints only ``response.reason``. ASGI has no field for it and
uvicorn writes the standard phrase, so a response to a request with a body (an upload) that
carries the private header ``x-vouch-reason`` gets its status line rewritten and the header
removed. The phrase is reduced to printable ASCII (no CR/LF), at most 300 characters. Servers
other than `vouch serve` (tests' plain uvicorn) pass the header through unchanged; clients
ignore it.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, RequestResponseCycle

REASON_HEADER = b"x-vouch-reason"
MAX_REASON = 300


def reason_value(text: str) -> str:
    """``text`` as a safe reason phrase (printable ASCII, one line, bounded)."""
    cleaned = "".join(c if 32 <= ord(c) < 127 else " " for c in text)
    return " ".join(cleaned.split())[:MAX_REASON]


def use_reason_header(cycle: Any) -> None:
    """Let this request's response choose its reason phrase (uvicorn's own cycle only)."""
    if type(cycle) is RequestResponseCycle:
        cycle.__class__ = _ReasonCycle


class _ReasonCycle(RequestResponseCycle):
    async def send(self, message: Any) -> None:
        if message["type"] != "http.response.start":
            await super().send(message)
            return
        headers = list(message.get("headers", []))
        reasons = [v for k, v in headers if k.lower() == REASON_HEADER]
        if not reasons:
            await super().send(message)
            return
        status = int(message["status"])
        phrase = reason_value(bytes(reasons[0]).decode("latin-1")).encode()
        message = {**message, "headers": [(k, v) for k, v in headers
                                          if k.lower() != REASON_HEADER]}
        transport = self.transport
        line = b"HTTP/1.1 %d %s\r\n" % (status, phrase or b"Error")
        self.transport = _StatusLine(  # type: ignore[assignment]
            transport, STATUS_LINE[status], line)
        try:
            await super().send(message)
        finally:
            self.transport = transport


class _StatusLine:
    """The transport, with the first write's standard status line replaced."""

    def __init__(self, transport: Any, standard: bytes, custom: bytes) -> None:
        self._transport = transport
        self._standard = standard
        self._custom = custom

    def write(self, data: bytes) -> None:
        if data.startswith(self._standard):
            data = self._custom + data[len(self._standard):]
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
