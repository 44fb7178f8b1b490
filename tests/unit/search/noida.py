"""Start noida-db (an Elasticsearch 8.15 REST API server from PyPI) as a real HTTP server.

    server = NoidaServer.start(tmp_dir)
    server.url   # "http://127.0.0.1:<free port>"
    server.stop()

The binary ships inside the ``noida_db`` wheel (``noida_db/noida-db``); it is started with
``start --only elasticsearch --elasticsearch-port N --data-dir D`` and stopped by its PID.
"""

from __future__ import annotations

import dataclasses
import socket
import subprocess
import time
from importlib.resources import files
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclasses.dataclass
class NoidaServer:
    process: subprocess.Popen[bytes]
    url: str

    @classmethod
    def start(cls, data_dir: Path) -> NoidaServer:
        binary = Path(str(files("noida_db").joinpath("noida-db")))
        port = free_port()
        process = subprocess.Popen(
            [str(binary), "start", "--only", "elasticsearch",
             "--elasticsearch-port", str(port), "--data-dir", str(data_dir)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        assert process.stdout is not None
        banner = []
        for line in process.stdout:  # ends at EOF if the server dies
            banner.append(line.decode(errors="replace"))
            if b"press Ctrl-C" in line:
                break
        server = cls(process, f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 10
        while True:  # readiness wait for the listener, not a timing assertion
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return server
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    server.stop()
                    raise RuntimeError("noida-db did not start:\n" + "".join(banner)) from None
                time.sleep(0.02)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
