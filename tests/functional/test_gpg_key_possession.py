"""Registering a GPG key proves possession of its private key, and a fingerprint belongs to
one account for good (issue 9). Each test plays the attacker: someone holding only a public
key, a replayed or stale challenge, a key shared between accounts, a revoked key."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import col, func, select

from app.core.db import alembic_config, make_engine, session_scope
from app.core.models import GpgFingerprint, GpgKey, GpgKeyChallenge, User
from tests.conftest import Actors, state_counts
from tests.functional.clihelp import cli_env, vouch
from tests.functional.helpers import assert_problem, publish
from tests.support.databases import backend, empty_postgres_database
from tests.support.gpg_register import get_challenge, prove_gpg_key, register_gpg_key
from tests.unit.signing.gpg_keys import GeneratedKey, Keyring, past


@pytest.fixture(scope="module")
def alice_key(keyring: Keyring) -> GeneratedKey:
    return keyring.make("Alice <alice@example.test>", faked=past(1))


@pytest.fixture(scope="module")
def mallory_key(keyring: Keyring) -> GeneratedKey:
    return keyring.make("Mallory <mallory@example.test>", faked=past(1))


def _key_rows(actors: Actors, fingerprint: str | None = None) -> list[tuple[int, str, bool]]:
    """(user id, fingerprint, revoked) of stored keys (all, or those with ``fingerprint``)."""
    with session_scope(actors.server.registry.engine) as session:
        query = select(GpgKey)
        if fingerprint is not None:
            query = query.where(GpgKey.fingerprint == fingerprint)
        return [(r.user_id, r.fingerprint, r.revoked_at is not None)
                for r in session.exec(query.order_by(col(GpgKey.id)))]


def _signed(client: httpx.Client, name: str, data: bytes, signature: bytes) -> httpx.Response:
    return publish(client, name, "1.0.0", data,
                   gpg_signature=("artifact.asc", signature, "application/pgp-signature"))


def test_a_public_key_alone_cannot_be_registered(actors: Actors, keyring: Keyring,
                                                 alice_key: GeneratedKey,
                                                 mallory_key: GeneratedKey) -> None:
    """The reported hijack: mallory registered alice's public key and published with alice's
    signatures, shown as "Signed with GPG by Alice"."""
    alice = actors.client(actors.user("alice"))
    register_gpg_key(alice, keyring, alice_key)
    data = b"alice's library"
    alice_sig = keyring.sign(alice_key.fingerprint, data)
    assert _signed(alice, "alices-lib", data, alice_sig).status_code == 201

    mallory = actors.client(actors.user("mallory"))
    keys_before, before = _key_rows(actors), state_counts(actors.server)
    # The old request shape (public key only) and every way to fake the proof.
    assert_problem(mallory.post("/api/v1/gpg-keys", json={"armored": alice_key.public}), 400,
                   "gpg_challenge_invalid")
    assert_problem(mallory.post("/api/v1/gpg-keys", json={
        "armored": alice_key.public, "challenge": get_challenge(mallory)}), 400,
        "gpg_proof_invalid")
    assert_problem(prove_gpg_key(mallory, keyring, alice_key, signer=mallory_key.fingerprint),
                   400, "gpg_proof_invalid")
    challenge = get_challenge(mallory)
    for signature in ("garbage", alice_sig.decode(),  # alice's signature of something else
                      keyring.sign(alice_key.fingerprint, b"other text").decode()):
        assert_problem(mallory.post("/api/v1/gpg-keys", json={
            "armored": alice_key.public, "challenge": challenge, "signature": signature}), 400,
            "gpg_proof_invalid")
    attached = keyring.sign(mallory_key.fingerprint, challenge.encode(), mode="--sign")
    assert_problem(mallory.post("/api/v1/gpg-keys", json={
        "armored": mallory_key.public, "challenge": challenge,
        "signature": attached.decode("latin-1")}), 400, "gpg_proof_invalid")
    # Two keys in one block: hers and mine, signed by mine.
    assert_problem(prove_gpg_key(mallory, keyring, mallory_key,
                                 armored=alice_key.public + mallory_key.public), 400,
                   "invalid_gpg_key")
    assert _key_rows(actors) == keys_before
    assert state_counts(actors.server).audit_events == before.audit_events
    # Mallory still cannot pass alice's signature off as her own package's.
    assert_problem(_signed(mallory, "evil-lib", data, alice_sig), 400, "key_unknown")
    assert state_counts(actors.server).versions == before.versions


def test_challenges_are_bound_single_use_and_short_lived(actors: Actors, keyring: Keyring,
                                                         alice_key: GeneratedKey,
                                                         mallory_key: GeneratedKey) -> None:
    alice = actors.client(actors.user("alice"))
    mallory = actors.client(actors.user("mallory"))
    keys_before = _key_rows(actors)

    issued = alice.get("/api/v1/gpg-keys/challenge").json()
    assert set(issued) == {"challenge", "expires_at"}
    assert issued["challenge"].startswith("vouch-gpg-key-proof:v1 user=alice ")
    assert issued["challenge"] != get_challenge(alice)  # random each time
    # Another user's challenge, even correctly signed with the caller's own key.
    assert_problem(prove_gpg_key(mallory, keyring, mallory_key, challenge=issued["challenge"]),
                   400, "gpg_challenge_invalid")
    # A replay of alice's whole registration by someone else.
    body = {"armored": alice_key.public, "challenge": issued["challenge"],
            "signature": keyring.sign(alice_key.fingerprint,
                                      issued["challenge"].encode()).decode()}
    assert_problem(mallory.post("/api/v1/gpg-keys", json=body), 400, "gpg_challenge_invalid")
    # A challenge the registry never issued.
    made_up = issued["challenge"][:-5] + "AAAAA"
    assert_problem(prove_gpg_key(alice, keyring, alice_key, challenge=made_up), 400,
                   "gpg_challenge_invalid")
    assert _key_rows(actors) == keys_before

    # Used once, then never again (not even by its owner for another key).
    assert alice.post("/api/v1/gpg-keys", json=body).status_code == 201
    assert_problem(alice.post("/api/v1/gpg-keys", json=body), 400, "gpg_challenge_used")
    assert_problem(prove_gpg_key(alice, keyring, mallory_key, challenge=issued["challenge"]),
                   400, "gpg_challenge_used")
    assert len(_key_rows(actors)) == len(keys_before) + 1

    # Expired after ten minutes (the injected clock); unused, still refused.
    stale = get_challenge(alice)
    actors.server.clock.advance(timedelta(minutes=9, seconds=59))
    fresh = get_challenge(alice)
    actors.server.clock.advance(timedelta(seconds=2))
    assert_problem(prove_gpg_key(alice, keyring, mallory_key, challenge=stale), 400,
                   "gpg_challenge_expired")
    assert len(_key_rows(actors)) == len(keys_before) + 1
    register = prove_gpg_key(alice, keyring, mallory_key, challenge=fresh)
    assert register.status_code == 201, register.text


def test_a_trailing_newline_and_a_signing_subkey_are_accepted(actors: Actors) -> None:
    ring = Keyring()
    try:
        primary = ring.make("Subkey User <sub@example.test>", usage="cert")
        key = ring.add_signing_subkey(primary.fingerprint)
        actors.server.clock.advance(timedelta(minutes=1))  # the subkey was made just now
        alice = actors.client(actors.user("alice"))
        challenge = get_challenge(alice)
        signature = ring.sign(key.fingerprint, (challenge + "\n").encode()).decode()
        response = alice.post("/api/v1/gpg-keys", json={
            "armored": key.public, "challenge": challenge, "signature": signature})
        assert response.status_code == 201, response.text
        assert response.json()["fingerprint"] == primary.fingerprint
        subkeys = [line.split(":")[9] for line in ring.gpg(
            "--with-colons", "--with-subkey-fingerprints", "--list-keys",
            primary.fingerprint).decode().splitlines() if line.startswith("fpr")][1:]
    finally:
        ring.close()
    assert len(subkeys) == 1
    with session_scope(actors.server.registry.engine) as session:
        claimed = set(session.exec(select(GpgFingerprint.fingerprint)).all())
    assert {primary.fingerprint, subkeys[0]} <= claimed


def test_a_fingerprint_is_active_on_one_account_and_revoked_for_good(
        actors: Actors, keyring: Keyring) -> None:
    """A key whose secret two accounts hold (shared, or leaked): the first registration owns
    it; once revoked, it can never come back, for anyone (reported: a revoked key kept
    working for another account)."""
    shared = keyring.make("Shared <shared@example.test>", faked=past(1))
    alice = actors.client(actors.user("alice"))
    bob = actors.client(actors.user("bob"))
    register_gpg_key(alice, keyring, shared)
    assert_problem(prove_gpg_key(bob, keyring, shared), 409, "gpg_key_taken")
    assert_problem(prove_gpg_key(alice, keyring, shared), 409, "already_exists")

    data = b"signed with the shared key"
    signature = keyring.sign(shared.fingerprint, data)
    assert alice.delete(f"/api/v1/gpg-keys/{shared.fingerprint}").status_code == 200
    before = state_counts(actors.server)
    assert_problem(prove_gpg_key(bob, keyring, shared), 409, "gpg_key_revoked")
    assert_problem(prove_gpg_key(alice, keyring, shared), 409, "gpg_key_revoked")
    rows = _key_rows(actors, shared.fingerprint)
    assert [revoked for _, _, revoked in rows] == [True]
    # Publishing with it is refused for both accounts.
    assert_problem(_signed(alice, "pkg-a", data, signature), 400, "key_revoked")
    assert_problem(_signed(bob, "pkg-b", data, signature), 400, "key_unknown")
    after = state_counts(actors.server)
    assert (after.versions, after.audit_events) == (before.versions, before.audit_events)

    # Even a copy written around the service (a row from before migration 0005, or a direct
    # insert) does not make the revoked fingerprint work again: publish checks the claim.
    with session_scope(actors.server.registry.engine, write=True) as session:
        bob_id = session.exec(select(User.id).where(User.name == "bob")).one()
        assert bob_id is not None
        session.add(GpgKey(user_id=bob_id, fingerprint=shared.fingerprint,
                           armored=shared.public, created_at=actors.server.clock.now()))
    assert_problem(_signed(bob, "pkg-b", data, signature), 400, "key_revoked")
    assert state_counts(actors.server).versions == before.versions


def test_concurrent_registrations_of_one_key_leave_one_owner(actors: Actors,
                                                             keyring: Keyring) -> None:
    shared = keyring.make("Raced <raced@example.test>", faked=past(1))
    clients = [actors.client(actors.user(f"racer{i}")) for i in range(6)]
    bodies = []
    for client in clients:  # sign first (one gpg-agent), then race the requests
        challenge = get_challenge(client)
        bodies.append({"armored": shared.public, "challenge": challenge,
                       "signature": keyring.sign(shared.fingerprint,
                                                 challenge.encode()).decode()})
    # Plus the first racer sending its own request four times at once.
    pairs = list(zip(clients, bodies, strict=True)) + [(clients[0], bodies[0])] * 3
    barrier = threading.Barrier(len(pairs))
    results: list[tuple[int, str]] = []

    def post(client: httpx.Client, body: dict[str, str]) -> None:
        barrier.wait()
        response = client.post("/api/v1/gpg-keys", json=body)
        results.append((response.status_code, response.json().get("code", "")))

    threads = [threading.Thread(target=post, args=pair) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes = Counter(status for status, _ in results)
    assert outcomes[201] == 1, results
    assert {code for status, code in results if status != 201} <= {
        "gpg_key_taken", "gpg_challenge_used", "already_exists"}
    assert len(_key_rows(actors, shared.fingerprint)) == 1


def test_old_challenges_are_pruned(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    for _ in range(15):
        get_challenge(alice)
    with session_scope(actors.server.registry.engine) as session:
        open_ = session.exec(select(func.count()).select_from(GpgKeyChallenge)).one()
    assert open_ == 10


# -- the real CLI with a real keyring ---------------------------------------------------------
def _env(actors: Actors, token: str, home: Path, gnupghome: Path) -> dict[str, str]:
    env = cli_env(actors.server.url, token, home)
    env["GNUPGHOME"] = str(gnupghome)
    return env


def test_vouch_gpg_key_add_proves_possession_with_the_local_gpg(
        actors: Actors, tmp_path: Path, keyring: Keyring, alice_key: GeneratedKey,
        mallory_key: GeneratedKey) -> None:
    # A keyring of alice's own with one key: `vouch gpg-key add` with no arguments uses it.
    own = Keyring()
    try:
        default = own.make("Alice Laptop <alice@laptop.test>", faked=past(1))
        second = own.make("Alice Work <alice@work.test>", faked=past(1))
        (own.home / "gpg.conf").write_text(f"default-key {default.fingerprint}\n")
        token = actors.user("alice")
        env = _env(actors, token, tmp_path, own.home)
        added = vouch("gpg-key", "add", "--json", env=env, cwd=tmp_path)
        assert added.returncode == 0, added.stderr
        assert json.loads(added.stdout)["fingerprint"] == default.fingerprint
        chosen = vouch("gpg-key", "add", "--local-user", "alice@work.test", env=env,
                       cwd=tmp_path)
        assert chosen.returncode == 0, chosen.stderr
        assert second.fingerprint in chosen.stdout
    finally:
        own.close()

    # Mallory has alice's public key file but not its secret: gpg cannot sign, nothing sent.
    public = tmp_path / "alice.asc"
    public.write_text(alice_key.public)
    mallory_home = Keyring()
    try:
        mallory_home.gpg("--import", input_=mallory_key.public.encode())
        mallory_home.gpg("--import", input_=keyring.export_secret(
            mallory_key.fingerprint).encode())
        env = _env(actors, actors.user("mallory"), tmp_path, mallory_home.home)
        refused = vouch("gpg-key", "add", str(public), env=env, cwd=tmp_path)
        assert refused.returncode == 1
        assert "gpg could not sign" in refused.stderr
        # Signing with her own key for alice's public key: the registry refuses the proof.
        forged = vouch("gpg-key", "add", str(public), "--local-user", mallory_key.fingerprint,
                       env=env, cwd=tmp_path)
        assert forged.returncode == 1 and "gpg_proof_invalid" in forged.stderr
    finally:
        mallory_home.close()
    owners = {fpr for _, fpr, _ in _key_rows(actors)}
    assert alice_key.fingerprint not in owners
    assert {default.fingerprint, second.fingerprint} <= owners


def test_gpg_is_required_for_vouch_gpg_key_add(actors: Actors, tmp_path: Path) -> None:
    env = cli_env(actors.server.url, actors.user("alice"), tmp_path)
    env["PATH"] = str(tmp_path / "empty")
    (tmp_path / "empty").mkdir()
    done = subprocess.run([sys.executable, "-m", "client.cli", "gpg-key", "add"], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "gpg" in done.stderr


# -- the migration: keys registered before proof of possession existed --------------------------
@contextmanager
def _empty_database(tmp_path: Path) -> Iterator[str]:
    if backend() != "postgres":
        yield f"sqlite:///{tmp_path / 'legacy.db'}"
        return
    with empty_postgres_database("vouch_legacy") as url:
        yield url


def _migrate(engine: Engine, url: str, revision: str) -> None:
    config = alembic_config(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def test_migration_keeps_the_first_claim_and_revokes_later_copies(tmp_path: Path) -> None:
    """Before 0005 anyone could register anyone's key: a fingerprint on several accounts stays
    with the earliest registration (revoked stays revoked), the later copies are revoked."""
    with _empty_database(tmp_path) as url:
        engine = make_engine(url)
        try:
            _migrate(engine, url, "0004")
            now = datetime.now(UTC)
            with engine.begin() as conn:
                for user_id, name in enumerate(("alice", "mallory", "carol", "dave"), 1):
                    conn.execute(text("INSERT INTO users (id, name, is_admin, is_security, "
                                      "created_at) VALUES (:i, :n, false, false, :t)"),
                                 {"i": user_id, "n": name, "t": now})
                for key_id, user_id, fpr, revoked in ((1, 1, "A" * 40, None),
                                                      (2, 2, "A" * 40, None),
                                                      (3, 3, "C" * 40, now),
                                                      (4, 4, "C" * 40, None),
                                                      (5, 4, "D" * 40, None)):
                    conn.execute(text("INSERT INTO gpg_keys (id, user_id, fingerprint, armored, "
                                      "created_at, revoked_at) VALUES (:k, :u, :f, 'x', :t, :r)"),
                                 {"k": key_id, "u": user_id, "f": fpr, "t": now, "r": revoked})
            _migrate(engine, url, "0005")
            with engine.connect() as conn:
                claims: dict[str, int] = {row[0]: row[1] for row in conn.execute(text(
                    "SELECT fingerprint, gpg_key_id FROM gpg_fingerprints"))}
                revoked_ids: set[int] = {row[0] for row in conn.execute(text(
                    "SELECT id, revoked_at FROM gpg_keys")) if row[1] is not None}
        finally:
            engine.dispose()
    assert claims == {"A" * 40: 1, "C" * 40: 3, "D" * 40: 5}
    assert revoked_ids == {2, 3, 4}
