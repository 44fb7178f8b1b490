"""`vouch verify` against the real server: each kind of failure has its exit code.

Signature checks with real Sigstore bundles and GPG signatures live in
``test_verify_signed.py``; these cover checksums, status, advisories and availability.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Actors
from tests.functional.clihelp import cli_env, vouch
from tests.functional.helpers import publish
from tests.functional.test_advisories_fixtures import generic_advisory, security_client


def _verify(actors: Actors, tmp_path: Path, *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    done = vouch("verify", "--json", *args, env=cli_env(actors.server.url, None, tmp_path),
                 cwd=tmp_path)
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def _findings(report: dict, name: str) -> dict[str, str]:  # type: ignore[type-arg]
    entry = next(e for e in report["entries"] if e["name"] == name)
    return {f["check"]: f["outcome"] for f in entry["findings"]}


def test_signed_passes_without_allowing_unsigned(actors: Actors, tmp_path: Path) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "signed", "1.0.0", b"signed").status_code == 201
    code, report = _verify(actors, tmp_path, "signed@1.0.0")
    assert code == 0 and _findings(report, "signed") == {"checksum": "pass", "signature": "pass"}


# About unsigned versions, so the registry runs the (development-only) `none` policy.
@pytest.mark.parametrize("settings_overrides", [{"default_signature_policy": "none"}],
                         indirect=True)
def test_unsigned_fails_unless_allowed(actors: Actors, tmp_path: Path) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "plain", "1.0.0", b"plain", signed=False).status_code == 201
    code, report = _verify(actors, tmp_path, "plain@1.0.0")
    assert code == 1 and _findings(report, "plain") == {"checksum": "pass", "signature": "fail"}
    code, report = _verify(actors, tmp_path, "plain@1.0.0", "--allow-unsigned")
    assert code == 0 and report["ok"] is True


def test_tampered_cache_is_a_checksum_failure(actors: Actors, tmp_path: Path) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "lib", "1.0.0", b"genuine").status_code == 201
    assert _verify(actors, tmp_path, "lib@1.0.0")[0] == 0
    cached = [p for p in (tmp_path / "cache" / "artifacts").rglob("*") if p.is_file()]
    assert len(cached) == 1
    cached[0].write_bytes(b"evil")
    code, report = _verify(actors, tmp_path, "lib@1.0.0")
    assert code == 1 and _findings(report, "lib")["checksum"] == "fail"
    assert not cached[0].exists()  # the corrupted entry was removed


def test_advisories_fail_at_the_threshold_and_ignores_expire(actors: Actors,
                                                            tmp_path: Path) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "vuln", "1.0.0", b"v1").status_code == 201
    sec = security_client(actors)
    draft = sec.post("/api/v1/advisories", json=generic_advisory("vuln", fixed="1.1.0")).json()
    assert sec.post(f"/api/v1/advisories/{draft['id']}/publish").status_code == 200
    code, report = _verify(actors, tmp_path, "vuln@1.0.0")
    assert code == 1 and _findings(report, "vuln")["advisory"] == "fail"
    ok, _ = _verify(actors, tmp_path, "vuln@1.0.0",
                    "--ignore", f"{draft['id']}:2999-01-01:not reachable from our code")
    assert ok == 0
    expired, report = _verify(actors, tmp_path, "vuln@1.0.0",
                              "--ignore", f"{draft['id']}:2000-01-01:old")
    assert expired == 1
    assert "expired" in json.dumps(report)


def test_quarantined_and_deprecated(actors: Actors, tmp_path: Path) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "evil", "1.0.0", b"evil").status_code == 201
    assert publish(alice, "old", "1.0.0", b"old").status_code == 201
    assert alice.put("/api/v1/packages/old/versions/1.0.0/deprecation",
                     json={"message": "use new"}).status_code == 200
    sec = security_client(actors)
    draft = sec.post("/api/v1/advisories",
                     json=generic_advisory("evil", malicious=True)).json()
    assert sec.post(f"/api/v1/advisories/{draft['id']}/publish").status_code == 200
    assert sec.post(f"/api/v1/advisories/{draft['id']}/quarantine").status_code == 200
    code, report = _verify(actors, tmp_path, "evil@1.0.0", "old@1.0.0")
    assert code == 1
    assert _findings(report, "evil") == {"status": "fail"}
    assert _findings(report, "old")["status"] == "warn"


def test_unreachable_registry_and_usage_errors(actors: Actors, tmp_path: Path) -> None:
    env = cli_env("http://127.0.0.1:9", None, tmp_path)
    done = vouch("verify", "--json", "x@1.0.0", env=env, cwd=tmp_path)
    assert done.returncode == 3
    assert json.loads(done.stdout)["entries"][0]["outcome"] == "error"
    assert vouch("verify", env=env, cwd=tmp_path).returncode == 2
    assert vouch("verify", "x@1.0.0", "--fail-on", "severe", env=env,
                 cwd=tmp_path).returncode == 2
    missing = vouch("verify", "--json", "ghost@1.0.0",
                    env=cli_env(actors.server.url, None, tmp_path), cwd=tmp_path)
    assert missing.returncode == 1


def test_verify_a_lockfile(actors: Actors, tmp_path: Path) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "a", "1.0.0", b"a").status_code == 201
    assert publish(alice, "b", "1.0.0", b"b", metadata={"dependencies": {"a": "^1.0.0"}}
                   ).status_code == 201
    (tmp_path / "vouch.toml").write_text('[dependencies]\nb = "^1.0.0"\n')
    env = cli_env(actors.server.url, None, tmp_path)
    assert vouch("lock", env=env, cwd=tmp_path).returncode == 0
    code, report = _verify(actors, tmp_path, "--lockfile", "vouch.lock")
    assert code == 0 and [e["name"] for e in report["entries"]] == ["a", "b"]
