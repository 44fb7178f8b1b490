"""Consumers' pins name a signing method as well as an identity (issue 9): `vouch verify`
through the real CLI against a real server, with real GPG signatures and real Sigstore bundles
from the local instance.

A Sigstore pin (``--repository/--workflow``, ``--identity/--issuer``) fails a GPG-signed or
unsigned artifact, and ``--gpg-fingerprint`` fails a Sigstore-signed one: exit 1 with
``identity_mismatch``. Before the fix both passed (the pin was simply not applied).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Actors
from tests.functional.clihelp import cli_env, vouch
from tests.functional.helpers import publish
from tests.support.sigstore_local import GitHubIdentity, SigstoreInstance

WIDGET_CI = GitHubIdentity(repository="acme/widget", workflow="release.yml",
                           ref="refs/tags/v1.0.0")
SIGSTORE_PINS = {
    "repository/workflow": ["--repository", "acme/widget", "--workflow", "release.yml"],
    "identity/issuer": ["--identity", WIDGET_CI.san, "--issuer", WIDGET_CI.issuer],
}


def _verify(actors: Actors, tmp_path: Path, trust: Path, *args: str) -> tuple[int, str]:
    done = vouch("verify", *args, "--trust", str(trust),
                 env=cli_env(actors.server.url, None, tmp_path / "consumer"), cwd=tmp_path)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return done.returncode, done.stdout


def _signature(report: str) -> dict[str, Any]:
    entry = json.loads(report)["entries"][0]
    finding: dict[str, Any] = next(f for f in entry["findings"] if f["check"] == "signature")
    return finding


def _gpg_signed(actors: Actors) -> str:
    """alice publishes gpg-tool@1.0.0 signed with her registered GPG key; her fingerprint."""
    alice = actors.client(actors.user("alice"))  # GPG-signing by default (conftest)
    response = publish(alice, "gpg-tool", "1.0.0", b"gpg signed tool")
    assert response.status_code == 201, response.text
    assert response.json()["signer"]["method"] == "gpg"
    fingerprint: str = response.json()["signer"]["identity"]["fingerprint"]
    return fingerprint


def _sigstore_signed(actors: Actors, sigstore: SigstoreInstance) -> None:
    """olga publishes widget@1.0.0 with a bundle from acme/widget's release workflow."""
    olga = actors.client(actors.user("olga"))
    assert olga.post("/api/v1/trusted-publishers", json={
        "target": "widget", "repository": "acme/widget",
        "workflow": "release.yml"}).status_code == 201
    data = b"sigstore signed widget"
    response = publish(olga, "widget", "1.0.0", data, sigstore_bundle=(
        "widget.sigstore.json", sigstore.sign_artifact(data, WIDGET_CI), "application/json"))
    assert response.status_code == 201, response.text
    assert response.json()["signer"]["method"] == "sigstore"


@pytest.mark.parametrize("pin", sorted(SIGSTORE_PINS))
def test_a_sigstore_pin_fails_a_gpg_signed_artifact(
        actors: Actors, tmp_path: Path, sigstore_trusted_root_path: Path, pin: str) -> None:
    fingerprint = _gpg_signed(actors)
    trust = sigstore_trusted_root_path
    # Without a pin, and with the right GPG pin, the artifact verifies.
    assert _verify(actors, tmp_path, trust, "gpg-tool@1.0.0")[0] == 0
    assert _verify(actors, tmp_path, trust, "gpg-tool@1.0.0",
                   "--gpg-fingerprint", fingerprint)[0] == 0
    code, report = _verify(actors, tmp_path, trust, "gpg-tool@1.0.0", "--json",
                           *SIGSTORE_PINS[pin])
    assert code == 1
    finding = _signature(report)
    assert finding["outcome"] == "fail"
    assert finding["message"].startswith("identity_mismatch:")
    assert "Sigstore" in finding["message"] and "GPG" in finding["message"]
    # The human-readable report says the same.
    code, text = _verify(actors, tmp_path, trust, "gpg-tool@1.0.0", *SIGSTORE_PINS[pin])
    assert code == 1 and "identity_mismatch" in text


def test_a_gpg_pin_fails_a_sigstore_signed_artifact(
        actors: Actors, tmp_path: Path, sigstore_trusted_root_path: Path,
        sigstore_instance: SigstoreInstance) -> None:
    _sigstore_signed(actors, sigstore_instance)
    fingerprint = _gpg_signed(actors)  # a real, registered fingerprint: still the wrong method
    trust = sigstore_trusted_root_path
    for pin in SIGSTORE_PINS.values():
        assert _verify(actors, tmp_path, trust, "widget@1.0.0", *pin)[0] == 0
    code, report = _verify(actors, tmp_path, trust, "widget@1.0.0", "--json",
                           "--gpg-fingerprint", fingerprint)
    assert code == 1
    finding = _signature(report)
    assert finding["outcome"] == "fail"
    assert finding["message"].startswith("identity_mismatch:")
    code, text = _verify(actors, tmp_path, trust, "widget@1.0.0",
                         "--gpg-fingerprint", fingerprint)
    assert code == 1 and "identity_mismatch" in text


def test_a_wrong_pin_of_the_right_method_still_fails(
        actors: Actors, tmp_path: Path, sigstore_trusted_root_path: Path,
        sigstore_instance: SigstoreInstance) -> None:
    _sigstore_signed(actors, sigstore_instance)
    _gpg_signed(actors)
    trust = sigstore_trusted_root_path
    code, report = _verify(actors, tmp_path, trust, "widget@1.0.0", "--json",
                           "--repository", "evil/widget", "--workflow", "release.yml")
    assert code == 1 and _signature(report)["message"].startswith("identity_mismatch")
    code, report = _verify(actors, tmp_path, trust, "gpg-tool@1.0.0", "--json",
                           "--gpg-fingerprint", "A" * 40)
    assert code == 1 and _signature(report)["message"].startswith("identity_mismatch")


def test_pinning_both_methods_is_a_usage_error(actors: Actors, tmp_path: Path,
                                               sigstore_trusted_root_path: Path) -> None:
    _gpg_signed(actors)
    done = vouch("verify", "gpg-tool@1.0.0", "--gpg-fingerprint", "A" * 40,
                 *SIGSTORE_PINS["repository/workflow"], "--trust",
                 str(sigstore_trusted_root_path),
                 env=cli_env(actors.server.url, None, tmp_path), cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "not both" in done.stderr


@pytest.mark.parametrize("settings_overrides", [{"default_signature_policy": "none"}])
def test_a_pin_fails_an_unsigned_artifact_even_with_allow_unsigned(
        actors: Actors, tmp_path: Path, sigstore_trusted_root_path: Path) -> None:
    """Policy ``none`` (development only) is what lets an unsigned version exist here."""
    with httpx.Client(base_url=actors.server.url,
                      headers={"Authorization": f"Bearer {actors.user('dev')}"}) as dev:
        assert publish(dev, "plain", "1.0.0", b"unsigned").status_code == 201
    trust = sigstore_trusted_root_path
    assert _verify(actors, tmp_path, trust, "plain@1.0.0", "--allow-unsigned")[0] == 0
    for pin in [*SIGSTORE_PINS.values(), ["--gpg-fingerprint", "A" * 40]]:
        code, report = _verify(actors, tmp_path, trust, "plain@1.0.0", "--allow-unsigned",
                               "--json", *pin)
        assert code == 1
        assert _signature(report)["message"].startswith("identity_mismatch")


def test_verify_rechecks_the_owner_id_the_registry_recorded(
        actors: Actors, tmp_path: Path, sigstore_trusted_root_path: Path,
        sigstore_instance: SigstoreInstance) -> None:
    """The stored bundle is swapped (a compromised database or storage) for one over the same
    bytes from acme/widget re-created by another account: same repository and workflow names,
    a new owner id. `vouch verify` applies the publisher policy's owner-id rule to the identity
    the registry recorded at publish time, so the swap fails."""
    from sqlmodel import select

    from app.core.db import session_scope
    from app.core.models import Provenance

    _sigstore_signed(actors, sigstore_instance)
    trust = sigstore_trusted_root_path
    assert _verify(actors, tmp_path, trust, "widget@1.0.0")[0] == 0
    forged = sigstore_instance.sign_artifact(b"sigstore signed widget",
                                             WIDGET_CI.with_(owner_id="999999999"))
    with session_scope(actors.server.registry.engine, write=True) as session:
        row = session.exec(select(Provenance)).one()
        assert row.identity["github"]["repository_owner_id"] == WIDGET_CI.resolved_owner_id
        row.raw = forged.decode()
        session.add(row)
    (tmp_path / "fresh").mkdir()  # a consumer without the earlier provenance in its cache
    code, report = _verify(actors, tmp_path / "fresh", trust, "widget@1.0.0", "--json")
    assert code == 1
    finding = _signature(report)
    assert finding["message"].startswith("identity_mismatch") and "owner id" in finding["message"]
