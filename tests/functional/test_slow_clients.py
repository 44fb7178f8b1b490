"""A client that trickles its request cannot hold a connection open for ever (issue 9).

The server is `vouch serve` itself, in a process of its own, with the deadlines shortened
through its settings (headers 1 s, body idle 1 s, body total 3 s). The attacker is a raw socket;
a normal client is served meanwhile. Loops are bounded by CEILING, a limit for the test to
give up, never an expectation about how fast the server is.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
CEILING = 60.0
DEADLINES = {"VOUCH_REQUEST_HEADER_TIMEOUT": "1", "VOUCH_REQUEST_BODY_IDLE_TIMEOUT": "1",
             "VOUCH_REQUEST_BODY_TIMEOUT": "3"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[tuple[str, int]]:
    """`vouch serve` on a free loopback port: yields (url, port)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOUCH_")}
    env.update(DEADLINES, VOUCH_DATA_DIR=str(tmp_path / "data"), VOUCH_DATABASE_URL=database_url,
               VOUCH_ENVIRONMENT="development", VOUCH_RUN_WORKER="false",
               PYTHONPATH=str(ROOT))
    vouch = Path(sys.executable).parent / "vouch"
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen([str(vouch), "serve", "--port", str(port)], env=env,
                                   cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        give_up = time.monotonic() + CEILING
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > give_up:
                raise RuntimeError((tmp_path / "serve.log").read_text())
            time.sleep(0.1)
        yield url, port
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.settimeout(0.2)
    return sock


def _closed_by_server(sock: socket.socket) -> bool:
    """True once the server has closed the connection (EOF or reset), False while open."""
    try:
        return sock.recv(4096) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def _trickle_until_closed(sock: socket.socket, pieces: Iterator[bytes]) -> bool:
    """Send one piece every ~0.2 s until the server hangs up (True) or CEILING passes."""
    give_up = time.monotonic() + CEILING
    for piece in pieces:
        if _closed_by_server(sock):
            return True
        try:
            sock.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            return True
        if time.monotonic() > give_up:
            return False
    return False


def _forever(piece: bytes) -> Iterator[bytes]:
    while True:
        yield piece


def _normal_client_works(url: str) -> None:
    with httpx.Client(base_url=url, timeout=10) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        response = client.post("/v1/query", json={"package": {"ecosystem": "PyPI",
                                                              "name": "requests"}})
        assert response.status_code == 200, response.text


def test_a_client_trickling_its_headers_is_disconnected(served: tuple[str, int]) -> None:
    url, port = served
    with _connect(port) as attacker:
        attacker.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        headers = (f"X-Slow-{i}: {i}\r\n".encode() for i in range(1_000_000))
        first = [next(headers) for _ in range(3)]
        for piece in first:
            attacker.sendall(piece)
        _normal_client_works(url)  # served while the attacker holds its connection
        assert _trickle_until_closed(attacker, headers)


def test_a_connection_that_never_sends_a_byte_is_disconnected(
        served: tuple[str, int]) -> None:
    url, port = served
    with _connect(port) as silent:
        _normal_client_works(url)
        assert _trickle_until_closed(silent, _forever(b""))


def test_a_body_that_stops_arriving_is_disconnected(served: tuple[str, int]) -> None:
    url, port = served
    with _connect(port) as stalled:
        stalled.sendall(b"POST /v1/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                        b"\r\nContent-Length: 100\r\n\r\n{\"package\":")
        _normal_client_works(url)
        assert _trickle_until_closed(stalled, _forever(b""))


def test_a_body_trickled_for_ever_is_disconnected(served: tuple[str, int]) -> None:
    # One byte every ~0.2 s never trips the 1 s idle deadline; the 3 s total deadline ends it.
    url, port = served
    with _connect(port) as trickler:
        trickler.sendall(b"POST /v1/query HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                         b"\r\nContent-Length: 10000000\r\n\r\n")
        _normal_client_works(url)
        assert _trickle_until_closed(trickler, _forever(b" "))


def test_a_keep_alive_client_sends_several_requests_on_one_connection(
        served: tuple[str, int]) -> None:
    url, _ = served
    with httpx.Client(base_url=url, timeout=10) as client:
        for _ in range(3):
            response = client.post("/v1/query", json={"package": {"ecosystem": "PyPI",
                                                                  "name": "requests"}})
            assert response.status_code == 200, response.text


def _served_once(sock: socket.socket) -> None:
    """One keep-alive request on ``sock``, its whole response read."""
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    received = b""
    give_up = time.monotonic() + CEILING
    while not received.endswith(b'{"status":"ok"}'):
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            chunk = None
        assert chunk != b"", f"closed after {received!r}"
        received += chunk or b""
        assert time.monotonic() < give_up
    assert received.startswith(b"HTTP/1.1 200 "), received


def test_after_a_response_a_trickled_next_head_is_disconnected(
        served: tuple[str, int]) -> None:
    # The deadline of the next head starts with the previous response (one shared timer per
    # connection, moved only when it fires).
    url, port = served
    with _connect(port) as attacker:
        _served_once(attacker)
        attacker.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        _normal_client_works(url)
        assert _trickle_until_closed(attacker, (f"X-Slow-{i}: {i}\r\n".encode()
                                                for i in range(1_000_000)))


def test_a_connection_left_idle_after_a_response_is_disconnected(
        served: tuple[str, int]) -> None:
    url, port = served
    with _connect(port) as idle:
        _served_once(idle)
        _normal_client_works(url)
        assert _trickle_until_closed(idle, _forever(b""))


def test_a_busy_keep_alive_connection_outlives_the_deadlines(served: tuple[str, int]) -> None:
    # Requests every ~0.3 s for 3 s: three times the 1 s head deadline, each head on time.
    _, port = served
    with _connect(port) as busy:
        until = time.monotonic() + 3.0
        while time.monotonic() < until:
            _served_once(busy)
            time.sleep(0.3)
        _served_once(busy)
