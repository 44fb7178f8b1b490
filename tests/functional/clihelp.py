"""Run the real `vouch` command line in a subprocess against the test server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cli_env(server_url: str, token: str | None, home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(VOUCH_REGISTRY=server_url, VOUCH_CACHE_DIR=str(home / "cache"),
               VOUCH_CONFIG=str(home / "no-config.toml"), PYTHONPATH=str(ROOT))
    env.pop("VOUCH_TOKEN", None)
    if token:
        env["VOUCH_TOKEN"] = token
    return env


def vouch(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "client.cli", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)
