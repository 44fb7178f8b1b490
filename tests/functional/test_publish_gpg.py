"""GPG-signed publishes with keys made by the real gpg: registration, verification, revocation,
expiry, and what `vouch verify` makes of them."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from tests.conftest import Actors, state_counts
from tests.functional.clihelp import cli_env, vouch
from tests.functional.helpers import assert_problem, publish
from tests.support.gpg_register import prove_gpg_key, register_gpg_key
from tests.unit.signing.gpg_keys import GeneratedKey, Keyring


@pytest.fixture(scope="module")
def alice_key(keyring: Keyring) -> GeneratedKey:
    return keyring.make("Alice <alice@example.test>")


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"default_signature_policy": "gpg"}


@pytest.fixture
def alice(actors: Actors, keyring: Keyring, alice_key: GeneratedKey) -> httpx.Client:
    client = actors.client(actors.user("alice"))
    register_gpg_key(client, keyring, alice_key)
    return client


def _signed(client: httpx.Client, name: str, version: str, data: bytes,
            signature: bytes) -> httpx.Response:
    return publish(client, name, version, data,
                   gpg_signature=("artifact.asc", signature, "application/pgp-signature"))


def _challenge(client: httpx.Client) -> str:
    text: str = client.get("/api/v1/gpg-keys/challenge").json()["challenge"]
    return text


def test_signed_publish_records_the_fingerprint(alice: httpx.Client, keyring: Keyring,
                                                alice_key: GeneratedKey) -> None:
    data = b"gpg signed artifact"
    response = _signed(alice, "signed", "1.0.0", data, keyring.sign(alice_key.fingerprint, data))
    assert response.status_code == 201, response.text
    assert response.json()["signer"]["identity"]["fingerprint"] == alice_key.fingerprint
    binary = keyring.sign(alice_key.fingerprint, b"binary sig", armor=False)
    second = _signed(alice, "signed", "1.0.1", b"binary sig", binary)
    assert second.status_code == 201, second.text


def test_rejections_leave_nothing_behind(actors: Actors, alice: httpx.Client, keyring: Keyring,
                                         alice_key: GeneratedKey) -> None:
    stranger = _new_key(actors, keyring, "Stranger <s@example.test>")
    before = state_counts(actors.server)
    data = b"the artifact"
    good = keyring.sign(alice_key.fingerprint, data)
    assert_problem(_signed(alice, "pkg", "1.0.0", data + b"!", good), 400, "signature_invalid")
    assert_problem(_signed(alice, "pkg", "1.0.0", data,
                           keyring.sign(stranger.fingerprint, data)), 400, "key_unknown")
    assert_problem(_signed(alice, "pkg", "1.0.0", data, b"garbage"), 400,
                   "signature_malformed")
    attached = keyring.sign(alice_key.fingerprint, data, mode="--sign")
    assert_problem(_signed(alice, "pkg", "1.0.0", data, attached), 400,
                   "signature_not_detached")
    assert_problem(publish(alice, "pkg", "1.0.0", data, signed=False), 400,
                   "signature_required")
    assert state_counts(actors.server).versions == before.versions
    assert state_counts(actors.server).blob_files == before.blob_files


def _new_key(actors: Actors, keyring: Keyring, uid: str, **options: str) -> GeneratedKey:
    """Make a key now, then move the server's clock past its creation (the clock started
    earlier, and gpg treats a key from its future as not yet valid)."""
    key = keyring.make(uid, **options)
    actors.server.clock.advance(timedelta(minutes=1))
    return key


def test_revoked_key_is_refused_as_revoked(actors: Actors, alice: httpx.Client,
                                           keyring: Keyring) -> None:
    key = _new_key(actors, keyring, "Rotating <r@example.test>")
    register_gpg_key(alice, keyring, key)
    data = b"rotated"
    assert alice.delete(f"/api/v1/gpg-keys/{key.fingerprint}").status_code == 200
    assert_problem(_signed(alice, "rot", "1.0.0", data, keyring.sign(key.fingerprint, data)),
                   400, "key_revoked")


def test_expired_key_is_refused(actors: Actors, alice: httpx.Client, keyring: Keyring) -> None:
    key = _new_key(actors, keyring, "Short <short@example.test>", expire="2d")
    register_gpg_key(alice, keyring, key)
    data = b"late"
    signature = keyring.sign(key.fingerprint, data)
    actors.server.clock.advance(timedelta(days=3))
    assert_problem(_signed(alice, "late", "1.0.0", data, signature), 400, "key_expired")


def test_key_registration_checks(alice: httpx.Client, keyring: Keyring,
                                 alice_key: GeneratedKey) -> None:
    assert_problem(prove_gpg_key(alice, keyring, alice_key, armored="not a key"), 400,
                   "invalid_gpg_key")
    secret = keyring.export_secret(alice_key.fingerprint)
    assert_problem(prove_gpg_key(alice, keyring, alice_key, armored=secret), 400,
                   "invalid_gpg_key")
    assert_problem(prove_gpg_key(alice, keyring, alice_key), 409, "already_exists")
    listed = [k["fingerprint"] for k in alice.get("/api/v1/gpg-keys").json()]
    assert listed.count(alice_key.fingerprint) == 1


def test_a_revoked_key_cannot_be_registered(actors: Actors, alice: httpx.Client) -> None:
    ring = Keyring()
    try:
        key = ring.make("Gone <gone@example.test>")
        revoked = ring.revoke(key.fingerprint)
    finally:
        ring.close()
    # The server's clock started before this key and its revocation were made; a revocation
    # from gpg's future is not in force yet, so move the clock past them.
    actors.server.clock.advance(timedelta(minutes=1))
    body = assert_problem(alice.post("/api/v1/gpg-keys", json={
        "armored": revoked.public, "challenge": _challenge(alice), "signature": "unused"}), 400,
        "invalid_gpg_key")
    assert "revoked" in body["detail"]


def test_another_users_key_does_not_count(actors: Actors, alice: httpx.Client,
                                          keyring: Keyring) -> None:
    bob = actors.client(actors.user("bob"))
    bob_key = _new_key(actors, keyring, "Bob <bob@example.test>")
    register_gpg_key(bob, keyring, bob_key)
    data = b"alice's package signed by bob"
    assert_problem(_signed(alice, "mine", "1.0.0", data, keyring.sign(bob_key.fingerprint, data)),
                   400, "key_unknown")


def test_vouch_verify_checks_the_gpg_signature(actors: Actors, alice: httpx.Client,
                                               keyring: Keyring, alice_key: GeneratedKey,
                                               tmp_path: Path) -> None:
    data = b"verify me"
    assert _signed(alice, "checked", "1.0.0", data,
                   keyring.sign(alice_key.fingerprint, data)).status_code == 201
    env = cli_env(actors.server.url, None, tmp_path)
    done = vouch("verify", "--json", "checked@1.0.0", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    entry = json.loads(done.stdout)["entries"][0]
    assert alice_key.fingerprint in entry["signer"]
    pinned_wrong = vouch("verify", "checked@1.0.0", "--gpg-fingerprint", "A" * 40, env=env,
                         cwd=tmp_path)
    assert pinned_wrong.returncode == 1
