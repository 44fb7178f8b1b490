"""`vouch verify --requirements requirements.txt`: the real `vouch` in a subprocess against the
real server, on Python files uploaded through /legacy/ with attestations signed by the local
Sigstore instance, and on GPG-signed ones (``twine upload FILE FILE.asc``), whose signature
the registry serves with the signer's key for the consumer to verify."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from app.core.db import session_scope
from app.core.models import PackageFile, Provenance
from tests.conftest import Actors
from tests.functional.clihelp import cli_env, vouch
from tests.functional.pypi_clients import twine_upload
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


@pytest.fixture
def gpg_release(actors: Actors, release: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """gizmo 3.0: a wheel uploaded by the real `twine upload FILE FILE.asc` (README's first
    path), signed with alice's registered GPG key."""
    dists = tmp_path / "gpg-dist"
    dists.mkdir()
    wheel = build_wheel(dists, "gizmo", "3.0")
    asc = wheel.with_name(wheel.name + ".asc")
    asc.write_bytes(actors.signers["alice"].sign(wheel.read_bytes()))  # type: ignore[attr-defined]
    done = twine_upload(actors.server.url, release["token"], [wheel, asc], tmp_path / "home")
    assert done.returncode == 0, done.stdout + done.stderr
    return {"wheel": wheel, "fingerprint": actors.signers["alice"].fingerprint}  # type: ignore[attr-defined]


def test_a_gpg_signed_upload_passes_against_the_recorded_key(
        actors: Actors, gpg_release: dict[str, Any], tmp_path: Path,
        sigstore_trusted_root_path: Path) -> None:
    """The signature twine sent is served with the signer's registered key and verified
    locally: no --allow-unsigned needed, the key's own fingerprint pinned passes too."""
    wheel, fingerprint = gpg_release["wheel"], gpg_release["fingerprint"]
    served = httpx.get(f"{actors.server.url}/api/v1/pypi/Gizmo/3.0/files/{wheel.name}/signature")
    assert served.status_code == 200, served.text
    body = served.json()
    assert body["method"] == "gpg" and body["identity"]["fingerprint"] == fingerprint
    assert "BEGIN PGP SIGNATURE" in body["signature"]
    assert "BEGIN PGP PUBLIC KEY BLOCK" in body["public_key"]
    code, report, err = _verify(actors, tmp_path, sigstore_trusted_root_path, "gizmo==3.0\n")
    assert code == 0, (report, err)
    assert _findings(report, "gizmo") == [("checksum", "pass"), ("signature", "pass")]
    assert fingerprint in report["entries"][0]["signer"]
    code, report, err = _verify(actors, tmp_path, sigstore_trusted_root_path, "gizmo==3.0\n",
                                "--gpg-fingerprint", fingerprint)
    assert code == 0, (report, err)
    # An attested file has no GPG signature to serve.
    missing = httpx.get(f"{actors.server.url}/api/v1/pypi/widget/1.0/files/"
                        "widget-1.0-py3-none-any.whl/signature")
    assert missing.status_code == 404
    assert missing.json()["code"] == "provenance_not_found"


def test_a_pin_to_another_key_or_method_fails(actors: Actors, gpg_release: dict[str, Any],
                                              tmp_path: Path,
                                              sigstore_trusted_root_path: Path) -> None:
    actors.user("bob")
    other = actors.signers["bob"].fingerprint  # type: ignore[attr-defined]
    assert other != gpg_release["fingerprint"]
    code, report, _ = _verify(actors, tmp_path, sigstore_trusted_root_path, "gizmo==3.0\n",
                              "--gpg-fingerprint", other)
    assert code == 1 and ("signature", "fail") in _findings(report, "gizmo")
    assert "identity_mismatch" in json.dumps(report)
    code, report, _ = _verify(actors, tmp_path, sigstore_trusted_root_path, "gizmo==3.0\n",
                              "--repository", "acme/widget", "--workflow", "release.yml")
    assert code == 1 and ("signature", "fail") in _findings(report, "gizmo")
    # A GPG pin does not accept a Sigstore-attested file either.
    code, report, _ = _verify(actors, tmp_path, sigstore_trusted_root_path, "widget==1.0\n",
                              "--gpg-fingerprint", gpg_release["fingerprint"])
    assert code == 1 and ("signature", "fail") in _findings(report, "widget")


def test_a_tampered_signature_fails(actors: Actors, gpg_release: dict[str, Any],
                                    tmp_path: Path, sigstore_trusted_root_path: Path) -> None:
    """The registry's stored signature replaced by one of the same key over other bytes:
    the consumer's own check refuses it, --allow-unsigned does not waive it."""
    forged = actors.signers["alice"].sign(b"other bytes").decode()  # type: ignore[attr-defined]
    with session_scope(actors.server.registry.engine, write=True) as session:
        row = session.exec(select(Provenance).join(
            PackageFile, col(PackageFile.id) == Provenance.file_id).where(
            PackageFile.filename == gpg_release["wheel"].name)).one()
        row.raw = forged
        session.add(row)
    for extra in ((), ("--allow-unsigned",)):
        code, report, err = _verify(actors, tmp_path, sigstore_trusted_root_path,
                                    "gizmo==3.0\n", *extra)
        assert code == 1, (report, err)
        assert _findings(report, "gizmo") == [("checksum", "pass"), ("signature", "fail")]


@pytest.mark.parametrize("settings_overrides", [{"default_signature_policy": "none"}],
                         indirect=True)
def test_an_unsigned_file_fails_unless_allowed(actors: Actors, tmp_path: Path,
                                               sigstore_trusted_root_path: Path) -> None:
    """Neither attestations nor a GPG signature (a package whose policy is ``none``)."""
    token = actors.user("alice")
    dists = tmp_path / "dist"
    dists.mkdir()
    plain = build_wheel(dists, "plain", "1.0")
    response = upload(actors.server.url, token, plain, name="plain", version="1.0")
    assert response.status_code == 200, response.text
    code, report, _ = _verify(actors, tmp_path, sigstore_trusted_root_path, "plain==1.0\n")
    assert code == 1 and ("signature", "fail") in _findings(report, "plain")
    code, report, _ = _verify(actors, tmp_path, sigstore_trusted_root_path, "plain==1.0\n",
                              "--allow-unsigned")
    assert code == 0 and ("signature", "warn") in _findings(report, "plain")


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
