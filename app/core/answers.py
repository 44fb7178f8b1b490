"""What an answerer gives `vouch serve`'s HTTP protocol (``app.core.protocol_answers``).

    Answer(200, header_lines([(b"content-type", b"application/json"), ...]), body)
    Answer(200, head, b"", file=FileBody(fd, size))   # the protocol sends the file, closes fd
    Pending(future, then)        # then(future) -> Answer | None, once the future is done

Kept apart from the protocol so that the fast paths (and whatever imports them: the worker,
the CLI) do not load uvicorn's HTTP machinery to name these types.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starlette.types import Scope


@dataclass(frozen=True, slots=True)
class FileBody:
    """A response body sent from an open file, ``size`` bytes from its start, after the head
    (``app.core.send_file``: ``sendfile``, the bytes never pass through Python). The protocol
    owns ``fd`` once it has the answer: it closes it whatever happens to the connection."""

    fd: int
    size: int


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    head: bytes  # header lines ("name: value\r\n" each), sent after uvicorn's defaults
    body: bytes  # empty for HEAD and 304, and when ``file`` carries the body
    file: FileBody | None = None


@dataclass(frozen=True, slots=True)
class Pending:
    future: asyncio.Future[Any]
    then: Callable[[asyncio.Future[Any]], Answer | None]  # must not raise


Answerer = Callable[["Scope"], "Answer | Pending | None"]


def header_lines(headers: list[tuple[bytes, bytes]]) -> bytes:
    """``headers`` as the lines of a response head (names and values as given: callers build
    them from constants and digests, never from request data)."""
    return b"".join(name + b": " + value + b"\r\n" for name, value in headers)
