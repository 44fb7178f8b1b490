"""`vouch verify --requirements requirements.txt`: the real `vouch` in a subprocess against the
real server, on Python files uploaded through /legacy/ with attestations signed by the local
Sigstore instance (and one GPG-signed upload, which has no PEP 740 provenance)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Actors
from tests.functional.clihelp import cli_env, vouch
from tests.functional.test_advisories_fixtures import security_client
from tests.functional.test_pypi_attestations import upload
from tests.support.attestations import make_attestation
from tests.support.pydists import build_sdist, build_wheel
from tests.support.sigstore_local import GitHubIdentity, SigstoreInstance

WORKFLOW = GitHubIdentity(repository="acme/widget", workflow="release.yml",
                          ref="refs/tags/v1.0")


@pytest.fixture
def release(actors: Actors, sigstore_instance: SigstoreInstance,
            tmp_path: Path) -> dict[str, Any]:
    """widget 1.0 (a wheel and an sdist, each attested by acme/widget's release.yml) and
    gadget 2.0 (a wheel signed with alice's GPG key only)."""
    token = actors.user("alice")
    assert actors.client(token).post("/api/v1/trusted-publishers", json={
        "target": "widget", "repository": "acme/widget",
        "workflow": "release.yml"}).status_code == 201
    dists = tmp_path / "dist"
    dists.mkdir()
    files = [build_wheel(dists, "widget", "1.0"), build_sdist(dists, "widget", "1.0")]
    for dist in files:
        attestation = make_attestation(sigstore_instance, dist.read_bytes(), dist.name, WORKFLOW)
        response = upload(actors.server.url, token, dist, attestations=[attestation])
        assert response.status_code == 200, response.text
    gadget = build_wheel(dists, "gadget", "2.0")
    signature = actors.signers["alice"].evidence("gadget", gadget.read_bytes())["gpg_signature"][1]
    response = upload(actors.server.url, token, gadget, gpg_signature=signature, name="gadget",
                      version="2.0")
    assert response.status_code == 200, response.text
    return {"token": token, "hashes": [hashlib.sha256(f.read_bytes()).hexdigest()
                                       for f in files]}


def _verify(actors: Actors, tmp_path: Path, trust: Path, requirements: str,
            *args: str) -> tuple[int, Any, str]:
    path = tmp_path / "requirements.txt"
    path.write_text(requirements)
    done = vouch("verify", "--json", "--requirements", str(path), "--trust", str(trust), *args,
                 env=cli_env(actors.server.url, None, tmp_path), cwd=tmp_path)
    report = json.loads(done.stdout) if done.stdout.strip() else None
    return done.returncode, report, done.stderr


def _findings(report: dict[str, Any], name: str) -> list[tuple[str, str]]:
    entry = next(e for e in report["entries"] if e["name"] == name)
    return [(f["check"], f["outcome"]) for f in entry["findings"]]


def test_pinned_and_hashed_requirements_pass(actors: Actors, release: dict[str, Any],
                                             tmp_path: Path,
                                             sigstore_trusted_root_path: Path) -> None:
    wheel_hash, sdist_hash = release["hashes"]
    code, report, err = _verify(actors, tmp_path, sigstore_trusted_root_path,
                                f"# pinned\nWidget==1.0 \\\n    --hash=sha256:{wheel_hash} \\\n"
                                f"    --hash=sha256:{sdist_hash}\n")
    assert code == 0, (report, err)
    assert _findings(report, "widget") == [("checksum", "pass"), ("signature", "pass")] * 2
    entry = report["entries"][0]
    assert "acme/widget/.github/workflows/release.yml" in entry["signer"]
    # Pinning the workflow that signed passes; another repository fails.
    code, _, _ = _verify(actors, tmp_path, sigstore_trusted_root_path, "widget==1.0\n",
                         "--repository", "acme/widget", "--workflow", "release.yml")
    assert code == 0
    code, report, _ = _verify(actors, tmp_path, sigstore_trusted_root_path, "widget==1.0\n",
                              "--repository", "evil/widget", "--workflow", "release.yml")
    assert code == 1
    assert "identity_mismatch" in json.dumps(report)


def test_a_hash_the_registry_does_not_hold_fails(actors: Actors, release: dict[str, Any],
                                                 tmp_path: Path,
                                                 sigstore_trusted_root_path: Path) -> None:
    code, report, _ = _verify(actors, tmp_path, sigstore_trusted_root_path,
                              f"widget==1.0 --hash=sha256:{'0' * 64}\n")
    assert code == 1
    assert ("checksum", "fail") in _findings(report, "widget")


def test_unsigned_under_pep_740_fails_unless_allowed(actors: Actors, release: dict[str, Any],
                                                     tmp_path: Path,
                                                     sigstore_trusted_root_path: Path) -> None:
    """gadget was uploaded with a GPG signature only: no PEP 740 provenance to verify."""
    code, report, _ = _verify(actors, tmp_path, sigstore_trusted_root_path, "gadget==2.0\n")
    assert code == 1 and ("signature", "fail") in _findings(report, "gadget")
    code, report, _ = _verify(actors, tmp_path, sigstore_trusted_root_path, "gadget==2.0\n",
                              "--allow-unsigned")
    assert code == 0 and ("signature", "warn") in _findings(report, "gadget")


def test_missing_packages_and_versions_fail(actors: Actors, release: dict[str, Any],
                                            tmp_path: Path,
                                            sigstore_trusted_root_path: Path) -> None:
    code, report, _ = _verify(actors, tmp_path, sigstore_trusted_root_path,
                              "nosuchthing==1.0\nwidget==9.9\n")
    assert code == 1
    assert _findings(report, "nosuchthing") == [("registry", "fail")]
    assert _findings(report, "widget") == [("registry", "fail")]


def test_pypi_advisories_fail_the_pin_and_ignores_apply(actors: Actors, release: dict[str, Any],
                                                        tmp_path: Path,
                                                        sigstore_trusted_root_path: Path
                                                        ) -> None:
    sec = security_client(actors)
    draft = sec.post("/api/v1/advisories", json={
        "summary": "widget flaw",
        "affected": [{"package": {"ecosystem": "PyPI", "name": "widget"},
                      "ranges": [{"type": "ECOSYSTEM",
                                  "events": [{"introduced": "0"}, {"fixed": "1.1"}]}]}],
        "severity": [{"type": "CVSS_V3",
                      "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]})
    assert draft.status_code == 201, draft.text
    advisory = draft.json()["id"]
    assert sec.post(f"/api/v1/advisories/{advisory}/publish").status_code == 200
    code, report, _ = _verify(actors, tmp_path, sigstore_trusted_root_path, "widget==1.0\n")
    assert code == 1 and ("advisory", "fail") in _findings(report, "widget")
    code, _, _ = _verify(actors, tmp_path, sigstore_trusted_root_path, "widget==1.0\n",
                         "--ignore", f"{advisory}:2999-01-01:not reachable")
    assert code == 0


def test_an_unpinned_line_is_a_usage_error_naming_it(actors: Actors, tmp_path: Path,
                                                     sigstore_trusted_root_path: Path) -> None:
    code, report, err = _verify(actors, tmp_path, sigstore_trusted_root_path,
                                "widget==1.0\nrequests>=2\n")
    assert code == 2 and report is None
    assert "requirements.txt:2" in err and "not pinned" in err


def test_a_yanked_release_warns(actors: Actors, release: dict[str, Any], tmp_path: Path,
                                sigstore_trusted_root_path: Path) -> None:
    yank = actors.client(release["token"]).put("/api/v1/pypi/widget/1.0/deprecation",
                                               json={"message": "use 1.1"})
    assert yank.status_code == 204, yank.text
    code, report, _ = _verify(actors, tmp_path, sigstore_trusted_root_path, "widget==1.0\n")
    assert code == 0
    entry = report["entries"][0]
    assert entry["outcome"] == "warn"
    assert any(f["check"] == "status" and "use 1.1" in f["message"] for f in entry["findings"])
