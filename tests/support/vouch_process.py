"""Real `vouch serve` / `vouch worker` processes for crash tests, and a peer that stalls.

    with VouchProcess.serve(env, log=tmp / "a.log") as server:   # waits for /healthz
        ...
        server.kill9()                                              # SIGKILL, then reaped
    with StallingPeer() as peer:          # accepts HTTP requests and never finishes answering
        env["VOUCH_REKOR_URL"] = peer.url
        peer.requests.wait(30)             # a request arrived (the caller is now stuck)
        peer.release()                     # closes every connection: the callers fail

The processes run the CLI (``python -m client.cli``, what the ``vouch`` script runs) with only
the ``VOUCH_*`` variables given, in a session of their own; whatever is still running when the
block ends is killed. The stalling peer keeps its callers waiting without tripping their read
timeouts: it trickles one byte of a never-ending header line every 0.2 s.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
START_BOUND = 60.0  # seconds: a ceiling for polling, never an expectation


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def process_env(vouch: dict[str, str]) -> dict[str, str]:
    """The test's environment without its ``VOUCH_*`` variables, plus ``vouch``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOUCH_")}
    env.update(vouch, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    return env


def vouch_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run one `vouch` command to completion (raises on a non-zero exit)."""
    result = subprocess.run([sys.executable, "-m", "client.cli", *args], env=process_env(env),
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise AssertionError(f"vouch {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result


@dataclass
class VouchProcess:
    proc: subprocess.Popen[bytes]
    log: Path
    url: str | None = None

    @classmethod
    @contextmanager
    def start(cls, *args: str, env: dict[str, str], log: Path) -> Iterator[VouchProcess]:
        with log.open("ab") as out:
            proc = subprocess.Popen([sys.executable, "-m", "client.cli", *args], cwd=ROOT,
                                    env=process_env(env), stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        running = cls(proc, log)
        try:
            yield running
        finally:
            running.kill9()

    @classmethod
    @contextmanager
    def serve(cls, env: dict[str, str], log: Path) -> Iterator[VouchProcess]:
        """`vouch serve` on a free loopback port; returns once ``/healthz`` answers 200."""
        port = free_port()
        with cls.start("serve", "--host", "127.0.0.1", "--port", str(port), env=env,
                       log=log) as running:
            running.url = f"http://127.0.0.1:{port}"
            running.wait_healthy()
            yield running

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + START_BOUND
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"vouch exited ({self.proc.returncode}):\n{self.output()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"vouch did not start:\n{self.output()}")
            time.sleep(0.1)

    def kill9(self) -> None:
        """SIGKILL: no finally block, no shutdown hook runs. Reaps the process."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@dataclass
class StallingPeer:
    """An HTTP peer that takes requests and never completes an answer until released."""

    requests: threading.Event = field(default_factory=threading.Event)
    _released: threading.Event = field(default_factory=threading.Event)
    _listener: socket.socket = field(default_factory=socket.socket)
    _threads: list[threading.Thread] = field(default_factory=list)

    @property
    def url(self) -> str:
        host, port = self._listener.getsockname()
        return f"http://{host}:{port}"

    def __enter__(self) -> StallingPeer:
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.2)
        self._spawn(self._accept)
        return self

    def __exit__(self, *_: object) -> None:
        self.release()
        for thread in self._threads:
            thread.join(timeout=10)
        self._listener.close()

    def release(self) -> None:
        self._released.set()

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._released.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            self._spawn(self._stall, conn)

    def _stall(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                conn.recv(65536)  # the request (its content does not matter)
                self.requests.set()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Wait: ")
                while not self._released.wait(0.2):
                    conn.sendall(b"w")
            except OSError:
                return
