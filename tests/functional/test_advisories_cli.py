"""`vouch advisory ...` against the real server: the security team's whole workflow."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Actors
from tests.functional.helpers import publish
from tests.functional.test_advisories_fixtures import OSV_DATA

CVSS = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"


def vouch(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "client.cli", "advisory", *args], env=env,
                          cwd=cwd, capture_output=True, text=True, timeout=120)


def env_for(actors: Actors, token: str, tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(VOUCH_REGISTRY=actors.server.url, VOUCH_TOKEN=token,
               VOUCH_CACHE_DIR=str(tmp_path / "cache"), VOUCH_CONFIG=str(tmp_path / "none"),
               PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    return env


@pytest.fixture
def sec_env(actors: Actors, tmp_path: Path) -> dict[str, str]:
    return env_for(actors, actors.user("sec", security=True), tmp_path)


def test_draft_edit_publish_list_quarantine_withdraw(actors: Actors, sec_env: dict[str, str],
                                                    tmp_path: Path) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "evil", "1.0.0", b"evil").status_code == 201
    made = vouch("new", "--package", "evil", "--introduced", "1.0.0", "--fixed", "2.0.0",
                 "--summary", "steals tokens", "--malicious", "--cvss", CVSS,
                 "--reference", "https://example.com/report", "--json",
                 env=sec_env, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    draft = json.loads(made.stdout)
    advisory_id = draft["id"]
    assert draft["state"] == "draft" and draft["malicious"] and draft["severity"] == "critical"
    assert draft["packages"] == [{"ecosystem": "Vouch", "name": "evil"}]

    edited = vouch("edit", advisory_id, "--details", "found in CI", "--set",
                   'aliases=["CVE-2099-0001"]', "--json", env=sec_env, cwd=tmp_path)
    assert edited.returncode == 0, edited.stderr
    assert json.loads(edited.stdout)["aliases"] == ["CVE-2099-0001"]
    assert vouch("publish", advisory_id, env=sec_env, cwd=tmp_path).returncode == 0

    listed = vouch("list", "--package", "evil", "--ecosystem", "generic", "--json",
                   env=sec_env, cwd=tmp_path)
    assert [d["id"] for d in json.loads(listed.stdout)] == [advisory_id]
    human = vouch("list", env=sec_env, cwd=tmp_path)
    assert advisory_id in human.stdout and "steals tokens" in human.stdout

    quarantined = vouch("quarantine", advisory_id, "--json", env=sec_env, cwd=tmp_path)
    assert json.loads(quarantined.stdout)["quarantined"] == [{"package": "evil",
                                                              "version": "1.0.0"}]
    assert alice.get("/api/v1/packages/evil/versions/1.0.0/artifact").status_code == 403
    released = vouch("quarantine", advisory_id, "--undo", env=sec_env, cwd=tmp_path)
    assert released.returncode == 0 and "released 1: evil@1.0.0" in released.stdout

    gone = vouch("withdraw", advisory_id, "--reason", "false positive", "--json",
                 env=sec_env, cwd=tmp_path)
    assert json.loads(gone.stdout)["withdrawn_reason"] == "false positive"
    again = vouch("withdraw", advisory_id, "--reason", "twice", env=sec_env, cwd=tmp_path)
    assert again.returncode == 1 and "advisory_withdrawn" in again.stderr


def test_import_reports_invalid_files_and_export_round_trips(
        sec_env: dict[str, str], tmp_path: Path) -> None:
    dump = tmp_path / "dump"
    shutil.copytree(OSV_DATA / "ghsa-pypi", dump / "ghsa")
    (dump / "ghsa" / "INDEX.json").unlink()
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    invalid = OSV_DATA / "invalid" / "pypi" / "PYSEC-2017-27.json"

    first = vouch("import", str(dump), str(broken), str(invalid), "--json",
                  env=sec_env, cwd=tmp_path)
    assert first.returncode == 1, first.stderr
    report = json.loads(first.stdout)
    assert (report["created"], report["invalid"]) == (25, 2)
    sources = {r["source"] for r in report["results"] if r["status"] == "invalid"}
    assert sources == {str(broken), str(invalid)}

    second = vouch("import", str(dump), env=sec_env, cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert "created 0, updated 0, unchanged 25, invalid 0" in second.stdout

    out = tmp_path / "export.json"
    assert vouch("export", "-o", str(out), env=sec_env, cwd=tmp_path).returncode == 0
    exported = json.loads(out.read_text())
    originals = {p.stem: json.loads(p.read_text()) for p in (dump / "ghsa").glob("*.json")}
    assert {r["id"]: r for r in exported} == originals
    folder = tmp_path / "exported"
    assert vouch("export", "--dir", str(folder), env=sec_env, cwd=tmp_path).returncode == 0
    assert sorted(p.stem for p in folder.glob("*.json")) == sorted(originals)


def test_ordinary_users_are_refused(actors: Actors, tmp_path: Path) -> None:
    env = env_for(actors, actors.user("alice"), tmp_path)
    done = vouch("new", "--package", "x", "--summary", "y", env=env, cwd=tmp_path)
    assert done.returncode == 1 and "forbidden" in done.stderr
    usage = vouch("new", "--fixed", "1", "--last-affected", "1", env=env, cwd=tmp_path)
    assert usage.returncode == 2
