"""An upstream that accepts connections and never answers (issue 17): with nothing cached the
proxy answers 504 ``upstream_timeout`` problem+json after the upstream's ``timeout``, for pip
pages and npm packuments alike, and stores nothing."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import func, select

from app.core.db import session_scope
from app.proxy.models import ProxyFile, ProxyPage
from tests.support.server import RunningServer


@pytest.fixture
def silent_upstream() -> Iterator[int]:
    """A loopback TCP server that accepts and reads but never writes a byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join(timeout=5)
    for connection in held:
        connection.close()
    listener.close()


@pytest.fixture
def settings_overrides(silent_upstream: int, tmp_path: Path) -> dict[str, object]:
    config = tmp_path / "upstreams.toml"
    config.write_text(
        f'[[upstream]]\nname = "slow-pypi"\nformat = "pypi"\n'
        f'url = "http://127.0.0.1:{silent_upstream}/simple/"\ntimeout = "1s"\n'
        f'[[upstream]]\nname = "slow-npm"\nformat = "npm"\n'
        f'url = "http://127.0.0.1:{silent_upstream}/"\ntimeout = "1s"\n')
    return {"upstreams": config}


def test_a_silent_upstream_is_a_504_and_nothing_is_stored(server: RunningServer) -> None:
    for path in ("/simple/anything/", "/pypi/files/anything/1.0/anything-1.0.tar.gz",
                 "/npm/anything", "/npm/anything/-/anything-1.0.0.tgz"):
        answer = httpx.get(server.url + path, timeout=30)
        assert answer.status_code == 504, (path, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "upstream_timeout"
        assert "1s" in answer.json()["detail"]
    with session_scope(server.registry.engine) as session:
        assert session.exec(select(func.count()).select_from(ProxyPage)).one() == 0
        assert session.exec(select(func.count()).select_from(ProxyFile)).one() == 0
    status = {u["name"]: u for u in
              httpx.get(server.url + "/api/v1/proxy/status").json()["upstreams"]}
    assert status["slow-pypi"]["errors"] == 2 and status["slow-npm"]["errors"] == 2
