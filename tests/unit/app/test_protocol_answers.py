"""`vouch serve`'s protocol answers what an answerer takes, in order with everything else on the
connection (app/core/protocol_answers.py).

A real uvicorn server on 127.0.0.1 speaks `protocol_for(settings)` in front of a small ASGI
application whose answerers take some paths: answered at once, answered after a future
(as a PostgreSQL tag read is), declined after it, or failing. Raw sockets check what a client
sees on the wire: uvicorn's default headers, keep-alive and ``connection: close``, pipelined
requests answered in the order they were sent, a client that leaves while its answer is
pending.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
import uvicorn

from app.core.answers import Answer, Pending, header_lines
from app.core.config import Settings
from app.core.protocol_answers import protocol_for

DELAY = 0.05  # seconds before a pending answer's future resolves
SLOW = 1.0  # ... on /pending-slow: longer than uvicorn takes to see a shutdown (0.1 s ticks)
BIG = b"x" * (256 * 1024)  # the largest body a download answer holds


def _answer(text: bytes) -> Answer:
    return Answer(200, header_lines([(b"content-type", b"text/plain"),
                                     (b"content-length", b"%d" % len(text))]), text)


class Answerer:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, scope: Any) -> Answer | Pending | None:
        path = scope["path"]
        self.asked.append(path)
        if path == "/answered":
            return _answer(b"answered")
        if path == "/big":
            return _answer(BIG)
        if path == "/boom":
            raise RuntimeError("an answerer's bug")
        if path in ("/pending", "/pending-declined", "/pending-failed", "/pending-slow"):
            future = asyncio.get_running_loop().create_future()

            def resolve() -> None:
                if path == "/pending-failed":
                    future.set_exception(OSError("database gone"))
                else:
                    future.set_result(path)

            delay = SLOW if path == "/pending-slow" else DELAY
            asyncio.get_running_loop().call_later(delay, resolve)
            return Pending(future, _then)
        return None


def _then(future: asyncio.Future[Any]) -> Answer | None:
    if future.exception() is not None or future.result() not in ("/pending", "/pending-slow"):
        return None
    return _answer(b"pending")


async def _application(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    body = BIG if scope["path"] == "/big" else b"app:" + scope["path"].encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"),
                            (b"content-length", b"%d" % len(body))]})
    await send({"type": "http.response.body", "body": body})


class Served(SimpleNamespace):
    port: int
    answerer: Answerer
    server: uvicorn.Server


@pytest.fixture
def served() -> Iterator[Served]:
    yield from _serve()


def _serve(*, limit_concurrency: int | None = None,
           access_log: bool = False) -> Iterator[Served]:
    answerer = Answerer()
    app: Any = _application

    async def application(scope: Any, receive: Any, send: Any) -> None:
        await app(scope, receive, send)

    application.state = SimpleNamespace(protocol_answers=[answerer])  # type: ignore[attr-defined]
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(application, log_level="warning", lifespan="on",
                            http=protocol_for(Settings()),  # type: ignore[arg-type]
                            limit_concurrency=limit_concurrency, access_log=access_log)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.005)
    try:
        yield Served(port=sock.getsockname()[1], answerer=answerer, server=server)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _connect(served: Served) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", served.port), timeout=5)
    return conn


def _request(path: str, *, method: str = "GET", version: str = "1.1", extra: str = "") -> bytes:
    return f"{method} {path} HTTP/{version}\r\nHost: test\r\n{extra}\r\n".encode()


def _responses(conn: socket.socket, count: int) -> list[tuple[str, dict[str, str], bytes]]:
    """``count`` responses read from ``conn``: status line, headers, body."""
    buffer = b""
    found: list[tuple[str, dict[str, str], bytes]] = []
    while len(found) < count:
        while b"\r\n\r\n" not in buffer:
            chunk = conn.recv(65536)
            assert chunk, f"connection closed after {len(found)} responses: {buffer!r}"
            buffer += chunk
        raw_head, buffer = buffer.split(b"\r\n\r\n", 1)
        status, *lines = raw_head.decode("latin-1").split("\r\n")
        headers = dict((k.lower(), v.strip()) for k, v in (line.split(":", 1) for line in lines))
        length = int(headers.get("content-length", "0"))
        while len(buffer) < length:
            chunk = conn.recv(65536)
            assert chunk, "connection closed inside a body"
            buffer += chunk
        found.append((status, headers, buffer[:length]))
        buffer = buffer[length:]
    return found


def _closed(conn: socket.socket) -> bool:
    try:
        return conn.recv(1) == b""
    except ConnectionResetError:
        return True


def test_answers_share_a_keep_alive_connection_with_the_application(served: Served) -> None:
    with _connect(served) as conn:
        for path, body in (("/answered", b"answered"), ("/other", b"app:/other"),
                           ("/pending", b"pending"), ("/pending-declined",
                                                       b"app:/pending-declined"),
                           ("/pending-failed", b"app:/pending-failed"),
                           ("/boom", b"app:/boom"), ("/answered", b"answered")):
            conn.sendall(_request(path))
            [(status, headers, got)] = _responses(conn, 1)
            assert (status, got) == ("HTTP/1.1 200 OK", body), path
            # uvicorn's own default headers, as on any response it sends
            assert headers["server"] == "uvicorn" and headers["date"], path
            assert "connection" not in headers, path
        assert served.answerer.asked == ["/answered", "/other", "/pending",
                                         "/pending-declined", "/pending-failed", "/boom",
                                         "/answered"]


def test_pipelined_requests_are_answered_in_the_order_sent(served: Served) -> None:
    with _connect(served) as conn:
        # One write: a pending answer first, so the later ones are ready before it.
        conn.sendall(_request("/pending") + _request("/other") + _request("/answered")
                     + _request("/pending-declined") + _request("/answered"))
        bodies = [body for _, _, body in _responses(conn, 5)]
    assert bodies == [b"pending", b"app:/other", b"answered", b"app:/pending-declined",
                      b"answered"]


@pytest.mark.parametrize("request_bytes", [
    _request("/answered", extra="Connection: close\r\n"),
    _request("/answered", version="1.0"),
    _request("/pending", extra="Connection: close\r\n"),
], ids=["connection-close", "http-1.0", "pending-connection-close"])
def test_a_last_request_gets_connection_close_and_the_connection_ends(
        served: Served, request_bytes: bytes) -> None:
    with _connect(served) as conn:
        conn.sendall(request_bytes)
        [(_, headers, body)] = _responses(conn, 1)
        assert headers["connection"] == "close"
        assert body in (b"answered", b"pending")
        assert _closed(conn)


def test_a_client_that_does_not_read_does_not_make_answers_pile_up(served: Served) -> None:
    # 100 pipelined requests for 25 MiB of answers, in one write, and nothing read: once the
    # socket's buffers are full, the rest wait in uvicorn's pipeline (reading paused) instead
    # of being answered into memory.
    count = 100
    with _connect(served) as conn:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        conn.sendall(_request("/big") * count)
        time.sleep(0.5)
        answered = len(served.answerer.asked)
        assert answered < count / 2, answered
        bodies = [body for _, _, body in _responses(conn, count)]
    assert bodies == [BIG] * count  # in order, whichever path answered each


def test_a_client_that_leaves_while_its_answer_is_pending_harms_no_one(served: Served) -> None:
    for _ in range(3):
        conn = _connect(served)
        conn.sendall(_request("/pending"))
        conn.close()
    time.sleep(DELAY * 3)  # the futures resolve after their clients left
    with _connect(served) as conn:
        conn.sendall(_request("/pending") + _request("/answered"))
        assert [body for _, _, body in _responses(conn, 2)] == [b"pending", b"answered"]


def test_over_the_concurrency_limit_uvicorns_503_is_not_replaced() -> None:
    # With limit_concurrency=1, uvicorn answers every request of a connection 503 itself; the
    # protocol must not answer it from an answerer instead.
    for served in _serve(limit_concurrency=1):
        with _connect(served) as conn:
            conn.sendall(_request("/answered"))
            [(status, _, body)] = _responses(conn, 1)
        assert status.startswith("HTTP/1.1 503") and body == b"Service Unavailable"
        assert served.answerer.asked == []


def test_with_the_access_log_on_answers_are_logged_as_uvicorn_logs_them() -> None:
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    for served in _serve(access_log=True):
        handler, access = Keep(), logging.getLogger("uvicorn.access")
        access.addHandler(handler)
        access.setLevel(logging.INFO)  # the server's log level (warning) had set it above
        try:
            with _connect(served) as conn:
                conn.sendall(_request("/answered?q=1") + _request("/other"))
                assert [body for _, _, body in _responses(conn, 2)] == [b"answered",
                                                                       b"app:/other"]
        finally:
            access.removeHandler(handler)
    assert [line.split(" - ", 1)[1] for line in lines] == [
        '"GET /answered?q=1 HTTP/1.1" 200', '"GET /other HTTP/1.1" 200']


def test_a_shutdown_while_an_answer_is_pending_sends_it_and_ends_the_connection(
        served: Served) -> None:
    with _connect(served) as conn:
        conn.sendall(_request("/answered"))
        assert [body for _, _, body in _responses(conn, 1)] == [b"answered"]
        conn.sendall(_request("/pending-slow"))
        deadline = time.monotonic() + 10
        while served.answerer.asked[-1:] != ["/pending-slow"]:  # the request is held
            assert time.monotonic() < deadline
            time.sleep(0.001)
        served.server.should_exit = True  # graceful: in-progress requests finish
        [(_, headers, body)] = _responses(conn, 1)
        assert body == b"pending" and headers["connection"] == "close"
        assert _closed(conn)

