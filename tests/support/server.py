"""Run the real registry with uvicorn on 127.0.0.1 in a background thread, for tests.

    with running_registry(settings, clock) as server:
        httpx.get(server.url + "/healthz")

The server is the real ASGI app behind the real uvicorn HTTP stack on a free loopback port,
speaking HTTP with the protocol `vouch serve` uses (``protocol_for``: deadlines, coalesced
writes, answers from the protocol); only the clock is injected, so time-dependent rules are
tested without sleeping.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from app.core.clock import ManualClock
from app.core.config import Settings
from app.core.protocol_answers import protocol_for
from app.main import create_app
from app.registry import Registry


@dataclass
class RunningServer:
    url: str
    registry: Registry
    clock: ManualClock
    app: FastAPI


@contextmanager
def running_registry(settings: Settings, clock: ManualClock,
                     registry: Registry | None = None, *,
                     tls: tuple[Path, Path] | None = None) -> Iterator[RunningServer]:
    """``tls`` (certificate and key files) serves HTTPS instead of HTTP."""
    registry = registry or Registry.build(settings, clock=clock)
    app = create_app(settings, registry=registry)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False,
                            timeout_graceful_shutdown=2,
                            http=protocol_for(settings),  # type: ignore[arg-type]
                            ssl_certfile=str(tls[0]) if tls else None,
                            ssl_keyfile=str(tls[1]) if tls else None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.005)
    try:
        scheme = "https" if tls else "http"
        yield RunningServer(url=f"{scheme}://127.0.0.1:{port}", registry=registry, clock=clock,
                            app=app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
