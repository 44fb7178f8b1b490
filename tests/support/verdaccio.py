"""A real Verdaccio 6 on loopback as the npm proxy's upstream (issue 17).

    with Verdaccio.start(tmp_path / "verdaccio") as upstream:
        upstream.publish(body)          # npm publish's JSON body (tests.functional.npm_support)
        upstream.url                    # http://127.0.0.1:PORT/
        upstream.stop()

Installed once from the npm registry (``npm install --prefix /tmp/vouch-verdaccio-6
verdaccio@6``, under a lock) and run with no uplinks (it never leaves the machine), anonymous
access and publishing, its storage in the test's directory.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from tests.support.pypiserver import free_port

PREFIX = Path("/tmp/vouch-verdaccio-6")


def ensure_installed() -> Path:
    with open(f"{PREFIX}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (PREFIX / ".ready").exists():
            shutil.rmtree(PREFIX, ignore_errors=True)
            env = {**os.environ, "HOME": str(PREFIX / "home")}
            if Path("/etc/ssl/certs/ca-certificates.crt").exists():
                env["npm_config_cafile"] = "/etc/ssl/certs/ca-certificates.crt"
            subprocess.run(["npm", "install", "--prefix", str(PREFIX), "--no-audit",
                            "--no-fund", "verdaccio@6"], check=True, env=env,
                           capture_output=True, timeout=900)
            (PREFIX / ".ready").touch()
    return PREFIX / "node_modules" / ".bin" / "verdaccio"


CONFIG = """storage: {storage}
auth:
  htpasswd:
    file: {root}/htpasswd
    max_users: -1
uplinks: {{}}
packages:
  '@*/*':
    access: $all
    publish: $anonymous
  '**':
    access: $all
    publish: $anonymous
log: {{type: stdout, format: pretty, level: warn}}
"""


@dataclass
class Verdaccio:
    process: subprocess.Popen[bytes] | None
    port: int
    root: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @classmethod
    def start(cls, root: Path) -> Verdaccio:
        binary = ensure_installed()
        root.mkdir(parents=True, exist_ok=True)
        config = root / "config.yaml"
        config.write_text(CONFIG.format(storage=root / "storage", root=root))
        port = free_port()
        log = (root / "verdaccio.log").open("wb")
        process = subprocess.Popen(
            [str(binary), "--config", str(config), "--listen", f"127.0.0.1:{port}"],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "HOME": str(root)})
        server = cls(process, port, root)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(server.url + "-/ping", timeout=2).status_code == 200:
                    return server
            except httpx.HTTPError:
                pass
            if process.poll() is not None:
                break
            time.sleep(0.3)
        server.stop()
        raise RuntimeError(f"verdaccio did not start; see {root / 'verdaccio.log'}")

    def publish(self, body: dict[str, Any]) -> None:
        name = str(body["name"]).replace("/", "%2f")
        answer = httpx.put(self.url + name, json=body, timeout=30)
        assert answer.status_code in (200, 201), answer.text

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None

    def __enter__(self) -> Verdaccio:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
