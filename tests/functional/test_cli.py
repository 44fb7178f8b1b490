"""The `vouch` command line against the real server: publish, info, download, lifecycle."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.config import Settings
from tests.conftest import Actors
from tests.functional.clihelp import publish_args
from tests.support.signers import Signer


def vouch(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "client.cli", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def cli_env(actors: Actors, tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(VOUCH_REGISTRY=actors.server.url, VOUCH_TOKEN=actors.user("alice"),
               VOUCH_CACHE_DIR=str(tmp_path / "cache"), VOUCH_CONFIG=str(tmp_path / "none"),
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    return env


@pytest.fixture
def signer(actors: Actors, cli_env: dict[str, str]) -> Signer | None:
    """Alice's key: the CLI publishes with ``--gpg-signature`` (the registry's default policy
    refuses unsigned publishes)."""
    return actors.signer(cli_env["VOUCH_TOKEN"])


def test_publish_info_download_deprecate(cli_env: dict[str, str], signer: Signer | None,
                                         tmp_path: Path) -> None:
    artifact = tmp_path / "tool-1.0.0.tgz"
    artifact.write_bytes(b"tool bytes")
    unsigned = vouch("publish", "tool@1.0.0", str(artifact), env=cli_env, cwd=tmp_path)
    assert unsigned.returncode == 1 and "signature_required" in unsigned.stderr
    done = vouch(*publish_args(signer, "tool@1.0.0", artifact), "--description", "a tool",
                 "--json", env=cli_env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    published = json.loads(done.stdout)
    assert published["version"] == "1.0.0"
    assert published["signer"]["method"] == "gpg"

    info = vouch("info", "tool@1.0.0", "--json", env=cli_env, cwd=tmp_path)
    assert json.loads(info.stdout)["sha256"] == published["sha256"]

    target = tmp_path / "out.tgz"
    got = vouch("download", "tool@1.0.0", "-o", str(target), env=cli_env, cwd=tmp_path)
    assert got.returncode == 0, got.stderr
    assert target.read_bytes() == b"tool bytes"

    dep = vouch("deprecate", "tool@1.0.0", "-m", "use 2.x", env=cli_env, cwd=tmp_path)
    assert dep.returncode == 0, dep.stderr
    shown = vouch("info", "tool@1.0.0", env=cli_env, cwd=tmp_path)
    assert "DEPRECATED" in shown.stdout and "use 2.x" in shown.stdout

    again = vouch(*publish_args(signer, "tool@1.0.0", artifact), env=cli_env, cwd=tmp_path)
    assert again.returncode == 1 and "version_exists" in again.stderr


def test_download_refuses_a_tampered_cache_entry(cli_env: dict[str, str], signer: Signer | None,
                                                 tmp_path: Path) -> None:
    artifact = tmp_path / "a.tgz"
    artifact.write_bytes(b"genuine")
    assert vouch(*publish_args(signer, "lib@1.0.0", artifact), env=cli_env,
                 cwd=tmp_path).returncode == 0
    assert vouch("download", "lib@1.0.0", "-o", str(tmp_path / "first"), env=cli_env,
                 cwd=tmp_path).returncode == 0
    # Corrupt the cached copy: the client must notice and fetch the real bytes again.
    cached = next((tmp_path / "cache" / "artifacts").rglob("*"))
    while cached.is_dir():
        cached = next(cached.iterdir())
    cached.chmod(0o644)
    cached.write_bytes(b"evil")
    second = tmp_path / "second"
    done = vouch("download", "lib@1.0.0", "-o", str(second), env=cli_env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert second.read_bytes() == b"genuine"
    assert "lib@1.0.0" in done.stderr and "tampered" in done.stderr  # said, not hidden


def test_exit_codes(cli_env: dict[str, str], tmp_path: Path) -> None:
    assert vouch("info", env=cli_env, cwd=tmp_path).returncode == 2
    assert vouch("info", "ghost", env=cli_env, cwd=tmp_path).returncode == 1
    unreachable = dict(cli_env, VOUCH_REGISTRY="http://127.0.0.1:9")
    assert vouch("info", "ghost", env=unreachable, cwd=tmp_path).returncode == 3


def test_admin_commands_work_without_a_server(tmp_path: Path, database_url: str) -> None:
    env = dict(os.environ, VOUCH_DATA_DIR=str(tmp_path / "fresh"),
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    env.pop("VOUCH_DATABASE_URL", None)
    # A data dir without a database is refused (issue 12) until `admin migrate` creates it.
    assert vouch("admin", "create-user", "root", env=env, cwd=tmp_path).returncode == 2
    assert vouch("admin", "migrate", env=env, cwd=tmp_path).returncode == 0
    made = vouch("admin", "create-user", "root", "--admin", env=env, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    token = vouch("admin", "create-token", "root", env=env, cwd=tmp_path)
    assert token.returncode == 0, token.stderr
    assert token.stdout.strip().startswith("vouch_") and len(token.stdout.strip().split()) == 1
    assert (tmp_path / "fresh" / "vouch.db").exists()
    dup = vouch("admin", "create-user", "root", env=env, cwd=tmp_path)
    assert dup.returncode == 1 and "already exists" in dup.stderr
    # The secret is stored hashed: it never appears in the database file.
    assert token.stdout.strip().encode() not in (tmp_path / "fresh" / "vouch.db").read_bytes()
    assert Settings(data_dir=tmp_path / "fresh").resolved_database_url.startswith("sqlite")
