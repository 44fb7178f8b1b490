"""Run the real `vouch` command line in a subprocess against the test server.

    env = cli_env(server.url, token, tmp_path)
    vouch(*publish_args(actors.signer(token), "tool@1.0.0", artifact), env=env, cwd=tmp_path)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.signers import Signer

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


def publish_args(signer: Signer | None, spec: str, artifact: Path) -> list[str]:
    """``publish SPEC ARTIFACT`` with the evidence ``signer`` makes over the artifact, written
    next to it (``--gpg-signature`` or ``--bundle``); unsigned when ``signer`` is ``None``."""
    args = ["publish", spec, str(artifact)]
    if signer is not None:
        flag, evidence = signer.cli_args(spec.rsplit("@", 1)[0], artifact.read_bytes())
        suffix = ".asc" if signer.method == "gpg" else ".sigstore.json"
        path = artifact.with_name(artifact.name + suffix)
        path.write_bytes(evidence)
        args += [flag, str(path)]
    return args
