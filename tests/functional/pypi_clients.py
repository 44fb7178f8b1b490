"""Run the real Python clients (twine, pip, uv from the test environment) against a server.

    result = twine_upload(server.url, token, [wheel, wheel_asc], home=tmp_path)
    result = pip(["download", ...], home=tmp_path)

Each returns the ``subprocess.CompletedProcess`` (text); tests assert on its return code and
output. Clients run with an empty home and no caches, so nothing leaks between tests.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def _env(home: Path) -> dict[str, str]:
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PIP_", "UV_", "TWINE_", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / "cache"),
               XDG_CONFIG_HOME=str(home / "config"),
               PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", NO_COLOR="1",
               UV_NO_CACHE="1", UV_NO_PROGRESS="1")
    return env


def run(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, env=_env(home), timeout=180,
                          check=False)


def twine_upload(url: str, token: str, files: list[Path], home: Path,
                 *extra: str) -> subprocess.CompletedProcess[str]:
    return run([str(BIN / "twine"), "upload", "--repository-url", f"{url}/legacy/",
                "-u", "__token__", "-p", token, "--non-interactive", "--disable-progress-bar",
                "--verbose", *extra, *map(str, files)], home)


def pip(args: list[str], url: str, home: Path) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "pip", *args, "--no-cache-dir", "--index-url",
                f"{url}/simple/"], home)


def uv(args: list[str], home: Path) -> subprocess.CompletedProcess[str]:
    return run([str(BIN / "uv"), *args], home)
