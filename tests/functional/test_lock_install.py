"""`vouch lock` and `vouch install` against the real server."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from tests.conftest import Actors
from tests.functional.clihelp import cli_env, vouch
from tests.functional.helpers import publish


def tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def registry_with_graph(actors: Actors) -> str:
    token = actors.user("alice")
    alice = actors.client(token)
    graph = {
        ("base", "1.0.0"): {}, ("base", "1.5.0"): {}, ("base", "2.0.0"): {},
        ("util", "1.0.0"): {"base": "^1.0.0"},
        ("web", "3.1.0"): {"util": "^1.0.0", "base": ">=1.2.0 <2"},
    }
    for (name, version), deps in graph.items():
        data = tarball({f"package/{name}.txt": f"{name} {version}".encode()})
        response = publish(alice, name, version, data, metadata={"dependencies": deps})
        assert response.status_code == 201, response.text
    return token


def test_lock_then_install_places_verified_packages(actors: Actors, registry_with_graph: str,
                                                    tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "vouch.toml").write_text('[dependencies]\nweb = "^3.0.0"\n')
    env = cli_env(actors.server.url, None, tmp_path)
    locked = vouch("lock", env=env, cwd=project)
    assert locked.returncode == 0, locked.stderr
    text = (project / "vouch.lock").read_text()
    again = vouch("lock", env=env, cwd=project)
    assert again.returncode == 0 and (project / "vouch.lock").read_text() == text
    assert 'name = "base"\nversion = "1.5.0"' in text
    assert text.index('name = "base"') < text.index('name = "util"') < text.index('name = "web"')

    installed = vouch("install", env=env, cwd=project)  # verifies every signature
    assert installed.returncode == 0, installed.stderr
    placed = project / "vouch_modules"
    assert (placed / "base" / "package" / "base.txt").read_bytes() == b"base 1.5.0"
    assert json.loads((placed / "web" / ".vouch.json").read_text())["version"] == "3.1.0"
    assert not list(placed.glob(".installing-*"))


def test_install_without_lockfile_resolves_and_writes_it(actors: Actors,
                                                         registry_with_graph: str,
                                                         tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "vouch.toml").write_text('[dependencies]\nutil = "1.x"\n')
    env = cli_env(actors.server.url, None, tmp_path)
    done = vouch("install", "--no-verify", env=env, cwd=project)
    assert done.returncode == 0, done.stderr
    assert (project / "vouch.lock").is_file()
    assert (project / "vouch_modules" / "util").is_dir()


def test_lockfile_integrity_mismatch_aborts_and_writes_nothing(
        actors: Actors, registry_with_graph: str, tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "vouch.toml").write_text('[dependencies]\nutil = "1.x"\n')
    env = cli_env(actors.server.url, None, tmp_path)
    assert vouch("lock", env=env, cwd=project).returncode == 0
    lock = project / "vouch.lock"
    text = lock.read_text()
    start = text.index('sha256 = "') + len('sha256 = "')
    lock.write_text(text[:start] + "0" * 64 + text[start + 64:])
    done = vouch("install", "--no-verify", env=env, cwd=project)
    assert done.returncode == 1
    assert "integrity" in done.stderr
    assert not (project / "vouch_modules").exists()


def test_unsatisfiable_requirements_explain_the_conflict(actors: Actors,
                                                         registry_with_graph: str,
                                                         tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "vouch.toml").write_text('[dependencies]\nweb = "^3.0.0"\nbase = "^2.0.0"\n')
    env = cli_env(actors.server.url, None, tmp_path)
    done = vouch("lock", env=env, cwd=project)
    assert done.returncode == 1
    assert "base" in done.stderr and "web" in done.stderr
    assert not (project / "vouch.lock").exists()


def test_unsafe_archive_is_refused(actors: Actors, tmp_path: Path) -> None:
    alice = actors.client(actors.user("alice"))
    evil = tarball({"../../escape.txt": b"pwned"})
    assert publish(alice, "evil", "1.0.0", evil).status_code == 201
    project = tmp_path / "p"
    project.mkdir()
    (project / "vouch.toml").write_text('[dependencies]\nevil = "1.0.0"\n')
    done = vouch("install", "--no-verify", env=cli_env(actors.server.url, None, tmp_path),
                 cwd=project)
    assert done.returncode == 1 and "unsafe" in done.stderr
    assert "'../../escape.txt' contains a '..' component" in " ".join(done.stderr.split())
    assert not (tmp_path / "escape.txt").exists() and not (project / "escape.txt").exists()
    assert not (project / "vouch_modules").exists()  # made for this install, removed again


def test_avoid_vulnerable_and_install_runs_the_checks(actors: Actors, tmp_path: Path) -> None:
    from tests.functional.test_advisories_fixtures import generic_advisory, security_client

    alice = actors.client(actors.user("alice"))
    for version in ("1.0.0", "1.1.0"):
        assert publish(alice, "risky", version, version.encode()).status_code == 201
    sec = security_client(actors)
    draft = sec.post("/api/v1/advisories",
                     json=generic_advisory("risky", introduced="1.1.0")).json()
    assert sec.post(f"/api/v1/advisories/{draft['id']}/publish").status_code == 200
    project = tmp_path / "p"
    project.mkdir()
    (project / "vouch.toml").write_text('[dependencies]\nrisky = "^1.0.0"\n')
    env = cli_env(actors.server.url, None, tmp_path)

    assert vouch("lock", env=env, cwd=project).returncode == 0
    assert 'version = "1.1.0"' in (project / "vouch.lock").read_text()
    refused = vouch("install", env=env, cwd=project)
    assert refused.returncode == 1 and draft["id"] in refused.stderr
    assert not (project / "vouch_modules").exists()

    assert vouch("lock", "--avoid-vulnerable", env=env, cwd=project).returncode == 0
    assert 'version = "1.0.0"' in (project / "vouch.lock").read_text()
    done = vouch("install", env=env, cwd=project)  # verifies alice's GPG signature
    assert done.returncode == 0, done.stderr
    assert (project / "vouch_modules" / "risky").is_dir()


# About unsigned versions, so the registry runs the (development-only) `none` policy.
@pytest.mark.parametrize("settings_overrides", [{"default_signature_policy": "none"}],
                         indirect=True)
def test_install_refuses_unsigned_unless_allowed(actors: Actors, tmp_path: Path) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "plain", "1.0.0", b"plain", signed=False).status_code == 201
    project = tmp_path / "p"
    project.mkdir()
    (project / "vouch.toml").write_text('[dependencies]\nplain = "^1.0.0"\n')
    env = cli_env(actors.server.url, None, tmp_path)
    assert vouch("lock", env=env, cwd=project).returncode == 0
    unsigned = vouch("install", env=env, cwd=project)
    assert unsigned.returncode == 1 and "unsigned" in unsigned.stderr
    assert not (project / "vouch_modules").exists()
    done = vouch("install", "--allow-unsigned", env=env, cwd=project)
    assert done.returncode == 0, done.stderr
    assert (project / "vouch_modules" / "plain").is_dir()
