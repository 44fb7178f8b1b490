"""Run the real registry with uvicorn on 127.0.0.1 in a background thread, for tests.

    with running_registry(settings, clock) as server:
        httpx.get(server.url + "/healthz")

The server is the real ASGI app behind the real uvicorn HTTP stack on a free loopback port;
only the clock is injected, so time-dependent rules are tested without sleeping.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from app.core.clock import ManualClock
from app.core.config import Settings
from app.main import create_app
from app.registry import Registry


@dataclass
class RunningServer:
    url: str
    registry: Registry
    clock: ManualClock


@contextmanager
def running_registry(settings: Settings, clock: ManualClock,
                     registry: Registry | None = None) -> Iterator[RunningServer]:
    registry = registry or Registry.build(settings, clock=clock)
    app = create_app(settings, registry=registry)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False,
                            timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.005)
    try:
        yield RunningServer(url=f"http://127.0.0.1:{port}", registry=registry, clock=clock)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
