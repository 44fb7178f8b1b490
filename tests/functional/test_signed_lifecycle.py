"""One package's life under the production default, once GPG-signed (real `gpg`) and once
Sigstore-signed (the local Sigstore instance, real sigstore verification): publish, download,
provenance, the web page, search, `vouch verify`/`install`, deprecation, quarantine by a
malicious advisory, and unpublishing inside the grace period.

Issue 10: the suite used to run unsigned under the `none` policy, and the signed path broke
unnoticed (unpublishing any signed version was a 500).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import Actors, state_counts
from tests.functional.clihelp import cli_env, vouch
from tests.functional.helpers import assert_problem, publish, sha256
from tests.functional.test_advisories_fixtures import generic_advisory, security_client
from tests.functional.test_lock_install import tarball
from tests.functional.test_web_pages import _text
from tests.support.signers import GpgSigner, Signer, SigningClient, SigningMethod, SigstoreSigner


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    # Search is drained by hand (run_once) instead of a background thread.
    return {"run_worker": False}


@pytest.fixture
def alice(actors: Actors, signing_method: SigningMethod) -> SigningClient:
    return actors.client(actors.user("alice", signing=signing_method))


def _signer(client: SigningClient) -> Signer:
    assert client.signer is not None
    return client.signer


def _identity(signer: Signer) -> str:
    """What the registry records as the signer: a fingerprint or a workflow identity."""
    if isinstance(signer, GpgSigner):
        return signer.fingerprint
    assert isinstance(signer, SigstoreSigner)
    return signer.identity.san


def _drain(actors: Actors) -> None:
    registry = actors.server.registry
    registry.downloads.flush(search_now=True)
    while registry.worker.run_once():
        pass


def test_publish_download_and_provenance(actors: Actors, alice: SigningClient,
                                         signing_method: SigningMethod) -> None:
    data = b"signed lifecycle 1.0.0"
    response = publish(alice, "lifecycle", "1.0.0", data)
    assert response.status_code == 201, response.text
    signer = response.json()["signer"]
    assert signer["method"] == signing_method
    identity = signer["identity"]
    recorded = identity["fingerprint"] if signing_method == "gpg" else identity["identity"]
    assert recorded == _identity(_signer(alice))

    anonymous = actors.client()
    download = anonymous.get("/api/v1/packages/lifecycle/versions/1.0.0/artifact")
    assert download.status_code == 200 and download.content == data
    doc = anonymous.get("/api/v1/packages/lifecycle/versions/1.0.0").json()
    assert doc["sha256"] == sha256(data) and doc["signer"]["method"] == signing_method
    provenance = anonymous.get("/api/v1/packages/lifecycle/versions/1.0.0/provenance")
    assert provenance.status_code == 200 and provenance.json()["method"] == signing_method


def test_page_and_search_show_the_signed_version(actors: Actors, alice: SigningClient,
                                                 signing_method: SigningMethod) -> None:
    assert publish(alice, "lifecycle", "1.0.0", b"paged",
                   metadata={"description": "a signed package"}).status_code == 201
    _drain(actors)
    anonymous = actors.client()
    hits = anonymous.get("/api/v1/search", params={"q": "lifecycle"}).json()["results"]
    assert [h["name"] for h in hits] == ["lifecycle"]
    page = anonymous.get("/packages/lifecycle")
    assert page.status_code == 200
    text = _text(page.text)
    expected = ("Signed with GPG" if signing_method == "gpg"
                else f"Signed with Sigstore by {_identity(_signer(alice))}")
    assert expected in text and _identity(_signer(alice)) in text


def test_verify_and_install_check_the_signature(actors: Actors, alice: SigningClient,
                                                signing_method: SigningMethod, tmp_path: Path,
                                                sigstore_trusted_root_path: Path) -> None:
    data = tarball({"package/lifecycle.txt": b"installed"})
    assert publish(alice, "lifecycle", "1.0.0", data).status_code == 201
    env = cli_env(actors.server.url, None, tmp_path)
    # The client checks Sigstore bundles against a trust root: the local instance's here.
    trust = ["--trust", str(sigstore_trusted_root_path)] if signing_method == "sigstore" else []
    verified = vouch("verify", "lifecycle@1.0.0", "--json", *trust, env=env, cwd=tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    entry = json.loads(verified.stdout)["entries"][0]
    assert _identity(_signer(alice)) in entry["signer"]

    project = tmp_path / "project"
    project.mkdir()
    (project / "vouch.toml").write_text('[dependencies]\nlifecycle = "^1.0.0"\n')
    assert vouch("lock", env=env, cwd=project).returncode == 0
    installed = vouch("install", env=env, cwd=project)
    placed = project / "vouch_modules" / "lifecycle" / "package" / "lifecycle.txt"
    if signing_method == "gpg":
        assert installed.returncode == 0, installed.stderr
        assert placed.read_bytes() == b"installed"
    else:
        # `vouch install` has no trust-root option: it trusts public-good only, so a bundle
        # from the local instance fails its check and nothing is installed (fail closed).
        assert installed.returncode == 1, installed.stdout + installed.stderr
        assert "verification failed" in installed.stderr
        assert not (project / "vouch_modules").exists()


def test_deprecate_then_unpublish_inside_the_grace_period(actors: Actors,
                                                          alice: SigningClient) -> None:
    data = b"signed, deprecated, unpublished"
    assert publish(alice, "lifecycle", "1.0.0", data).status_code == 201
    assert alice.put("/api/v1/packages/lifecycle/versions/1.0.0/deprecation",
                     json={"message": "use 2.x"}).status_code == 200
    doc = alice.get("/api/v1/packages/lifecycle/versions/1.0.0").json()
    assert doc["deprecated"] == "use 2.x"

    actors.server.clock.advance(timedelta(hours=23))
    response = alice.delete("/api/v1/packages/lifecycle/versions/1.0.0")
    assert response.status_code == 204, response.text
    assert_problem(alice.get("/api/v1/packages/lifecycle/versions/1.0.0/artifact"), 410,
                   "version_unpublished")
    assert state_counts(actors.server).blob_files == 0  # its bytes were not shared
    # The number is burned: the same version cannot come back, signed or not.
    assert_problem(publish(alice, "lifecycle", "1.0.0", data), 409, "version_burned")


def test_a_malicious_advisory_quarantines_the_signed_version(actors: Actors,
                                                             alice: SigningClient) -> None:
    assert publish(alice, "lifecycle", "1.0.0", b"trojan").status_code == 201
    assert publish(alice, "lifecycle", "1.0.1", b"clean").status_code == 201
    sec = security_client(actors)
    fields = generic_advisory("lifecycle", introduced="1.0.0", fixed="1.0.1", malicious=True,
                              summary="a trojan in 1.0.0")
    advisory_id = sec.post("/api/v1/advisories", json=fields).json()["id"]
    assert sec.post(f"/api/v1/advisories/{advisory_id}/publish").status_code == 200
    assert sec.post(f"/api/v1/advisories/{advisory_id}/quarantine").status_code == 200

    body = assert_problem(alice.get("/api/v1/packages/lifecycle/versions/1.0.0/artifact"), 403,
                          "version_quarantined")
    assert advisory_id in body["detail"]
    doc = alice.get("/api/v1/packages/lifecycle/versions/1.0.0").json()
    assert doc["quarantined"] is True and [a["id"] for a in doc["advisories"]] == [advisory_id]
    assert doc["signer"] is not None  # the evidence stays with the record
    assert alice.get("/api/v1/packages/lifecycle/versions/1.0.1/artifact").content == b"clean"
