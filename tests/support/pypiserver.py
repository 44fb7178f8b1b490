"""A real pypiserver 2.4.2 on loopback as the proxy's upstream (issue 17).

    with PypiServer.start(packages_dir) as upstream:
        upstream.url          # http://127.0.0.1:PORT/simple/
        upstream.stop()       # the upstream goes down (tests of outages)

pypiserver lives in its own virtualenv (``VENV``, created on first use from PyPI with the
machine's pip configuration, under a lock so parallel workers build it once): it is a test
peer, not a dependency of Vouch, and its pins (bottle, its own packaging range) must not leak
into the project's environment. It runs with ``--hash-algo sha256`` (its default is md5, which
the proxy cannot verify), ``--backend simple-dir`` (re-reads the directory on every request, so a
test can change a file under it) and ``--disable-fallback`` (no redirect to pypi.org).
"""

from __future__ import annotations

import fcntl
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import httpx

VERSION = "2.4.2"
VENV = Path("/tmp") / f"vouch-pypiserver-{VERSION}"


def ensure_venv() -> Path:
    python = VENV / "bin" / "python"
    with open(f"{VENV}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (VENV / ".ready").exists():
            shutil.rmtree(VENV, ignore_errors=True)
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q",
                            f"pypiserver=={VERSION}"], check=True)
            (VENV / ".ready").touch()
    return python


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PypiServer:
    process: subprocess.Popen[bytes] | None
    port: int
    packages: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/simple/"

    @classmethod
    def start(cls, packages: Path) -> PypiServer:
        python = ensure_venv()
        port = free_port()
        log = (packages.parent / "pypiserver.log").open("wb")
        process = subprocess.Popen(
            [str(python), "-m", "pypiserver", "run", "-i", "127.0.0.1", "-p", str(port),
             "--hash-algo", "sha256", "--backend", "simple-dir", "--disable-fallback",
             "-a", ".", "-P", ".", str(packages)], stdout=log, stderr=subprocess.STDOUT)
        server = cls(process, port, packages)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(server.url, timeout=2).status_code == 200:
                    return server
            except httpx.HTTPError:
                pass
            if process.poll() is not None:
                break
            time.sleep(0.2)
        server.stop()
        raise RuntimeError("pypiserver did not start; see " + str(packages.parent))

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None

    def __enter__(self) -> PypiServer:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
