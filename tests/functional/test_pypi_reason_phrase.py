"""Under `vouch serve`, a refused upload's message is also the status line's reason phrase, as
PyPI does: twine (without --verbose) prints only ``response.reason``."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx

from tests.functional.pypi_clients import BIN, run
from tests.support.pydists import build_wheel
from tests.support.vouch_process import VouchProcess, vouch_cli


def test_twine_shows_why_an_upload_was_refused(tmp_path: Path, database_url: str) -> None:
    env = {"VOUCH_DATA_DIR": str(tmp_path / "data"), "VOUCH_DATABASE_URL": database_url,
           "VOUCH_ENVIRONMENT": "development", "VOUCH_RUN_WORKER": "false"}
    vouch_cli("admin", "migrate", env=env)
    vouch_cli("admin", "create-user", "alice", env=env)
    token = vouch_cli("admin", "create-token", "alice", env=env).stdout.strip()
    wheel = build_wheel(tmp_path, "reasoned", "1.0")
    with VouchProcess.serve(env, log=tmp_path / "serve.log") as server:
        assert server.url is not None
        result = run([str(BIN / "twine"), "upload", "--repository-url",
                      f"{server.url}/legacy/", "-u", "__token__", "-p", token,
                      "--non-interactive", "--disable-progress-bar", str(wheel)],
                     tmp_path / "home")
        assert result.returncode != 0
        output = " ".join((result.stdout + result.stderr).split())
        assert "reasoned requires a signature (policy" in output, output

        data = wheel.read_bytes()
        response = httpx.post(
            f"{server.url}/legacy/", auth=("__token__", token),
            data={":action": "file_upload", "protocol_version": "1",
                  "sha256_digest": hashlib.sha256(data).hexdigest()},
            files={"content": (wheel.name, data, "application/octet-stream")})
        assert response.status_code == 400
        assert response.reason_phrase == response.json()["detail"][:300]
        assert "x-vouch-reason" not in response.headers
        ok = httpx.get(f"{server.url}/healthz")
        assert (ok.status_code, ok.reason_phrase) == (200, "OK")
