"""`vouch info|unpublish|deprecate --format pypi` (issue 14), the real `vouch` in a
subprocess against the real server, on a project uploaded by the real twine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Actors
from tests.functional.helpers import publish
from tests.functional.pypi_clients import twine_upload
from tests.support.pydists import build_sdist, build_wheel
from tests.support.server import RunningServer

VOUCH = Path(sys.executable).parent / "vouch"


@pytest.fixture
def cli_env(server: RunningServer, actors: Actors, tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(VOUCH_REGISTRY=server.url, VOUCH_TOKEN=actors.user("alice"),
               VOUCH_CACHE_DIR=str(tmp_path / "cache"), VOUCH_CONFIG=str(tmp_path / "none"))
    return env


def vouch(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(VOUCH), *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=60, check=False)


def test_info_deprecate_and_unpublish_a_python_project(
        server: RunningServer, actors: Actors, cli_env: dict[str, str], tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    files = [build_wheel(dist, "Py.Tool", "1.0"), build_sdist(dist, "Py.Tool", "1.0"),
             build_wheel(dist, "Py.Tool", "2.0")]
    signer = actors.signers["alice"]
    signed = []
    for path in files:
        asc = path.with_name(path.name + ".asc")
        asc.write_bytes(signer.sign(path.read_bytes()))  # type: ignore[attr-defined]
        signed += [path, asc]
    result = twine_upload(server.url, cli_env["VOUCH_TOKEN"], signed, tmp_path / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    # A native package of the same name is another package: --format decides, never a guess.
    assert publish(actors.client(cli_env["VOUCH_TOKEN"]), "py-tool", "9.0.0").status_code == 201

    done = vouch("info", "--format", "pypi", "Py_Tool", "--json", env=cli_env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert (doc["name"], doc["format"], doc["versions"]) == ("py-tool", "pypi", ["1.0", "2.0"])
    assert sorted(f["filename"] for f in doc["files"] if f["version"] == "1.0") == [
        "py_tool-1.0-py3-none-any.whl", "py_tool-1.0.tar.gz"]
    native = vouch("info", "py-tool", "--json", env=cli_env, cwd=tmp_path)
    assert native.returncode == 0 and json.loads(native.stdout)["latest"] == "9.0.0"

    done = vouch("deprecate", "--format", "pypi", "py-tool@2.0", "-m", "broken", env=cli_env,
                 cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    shown = vouch("info", "--format", "pypi", "py-tool@2.0", env=cli_env, cwd=tmp_path)
    assert shown.returncode == 0 and "yanked: broken" in shown.stdout
    done = vouch("deprecate", "--format", "pypi", "py-tool@2.0", "--undo", env=cli_env,
                 cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    doc = json.loads(vouch("info", "--format", "pypi", "py-tool@2.0", "--json", env=cli_env,
                           cwd=tmp_path).stdout)
    assert [f["yanked"] for f in doc["files"]] == [False]

    done = vouch("unpublish", "--format", "pypi", "py-tool@1.0.0", env=cli_env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr  # 1.0.0 finds release 1.0 (PEP 440 equality)
    doc = json.loads(vouch("info", "--format", "pypi", "py-tool", "--json", env=cli_env,
                           cwd=tmp_path).stdout)
    assert doc["versions"] == ["2.0"]
    assert json.loads(vouch("info", "py-tool", "--json", env=cli_env,
                            cwd=tmp_path).stdout)["latest"] == "9.0.0"  # native untouched

    gone = vouch("unpublish", "--format", "pypi", "py-tool@1.0", env=cli_env, cwd=tmp_path)
    assert gone.returncode != 0 and "version_unpublished" in gone.stderr
    missing = vouch("info", "--format", "pypi", "no-such", env=cli_env, cwd=tmp_path)
    assert missing.returncode != 0 and "package_not_found" in missing.stderr
    bad = vouch("info", "--format", "cargo", "py-tool", env=cli_env, cwd=tmp_path)
    assert bad.returncode == 2 and "--format must be one of native, pypi" in bad.stderr
