"""A Sigstore bundle checked offline is checked in the transaction that records (issue 13).

Offline (``rekor_mode`` off, the default), a bundle's check is about 1.5 ms of CPU in the
worker: on PostgreSQL, with a small upload to the blob directory, a signed publish then reads
the policy and the trusted publishers once, in the recording transaction, as an unsigned one
does (``PublishService._publish_in_one_transaction``), instead of a read session and a write
transaction that reads them again (ten of its twenty round trips). gpg and an online Rekor
lookup still run with no connection held (issue 11:
tests/functional/test_verification_outside_session.py).

These tests publish with real bundles of the local Sigstore instance on both databases and
act as careless or hostile users on that path: a workflow whose publisher was just removed, a
bundle for other bytes, two accounts signing the same new name at the same moment. Each
refusal leaves no blob, no row and no audit event. The last test pins what may be checked in
the transaction at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from functools import partial

import httpx
import pytest
from sqlalchemy import event
from sqlmodel import col, select

from app.core.config import Settings
from app.core.db import session_scope
from app.core.models import AuditEvent
from app.pypi.attestations import AttestationSignatureChecker, UploadEvidence
from app.registry import Registry
from app.trust.evidence import Evidence
from app.trust.signatures import PolicySignatureChecker
from app.trust.verifier import RegistryEvidenceVerifier
from signing.trust import TrustRoot
from tests.conftest import Actors, state_counts
from tests.functional.helpers import assert_problem, at_once, package_owners, publish
from tests.support.server import RunningServer
from tests.support.sigstore_local import GitHubIdentity, SigstoreInstance

IDENTITY = GitHubIdentity(repository="acme/widget", workflow="release.yml",
                          ref="refs/tags/v1.0.0")


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, object]:
    # No background thread (outbox worker, download-count flush) takes a connection meanwhile.
    # The product's signature policy, except where a test names another.
    return {"run_worker": False, "download_flush_interval": timedelta(hours=1),
            **getattr(request, "param", {})}


def audit_events(server: RunningServer) -> list[AuditEvent]:
    with session_scope(server.registry.engine) as session:
        return list(session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all())


@contextmanager
def checkouts(registry: Registry) -> Iterator[list[int]]:
    """Counts the pooled connections handed out meanwhile (one item per checkout)."""
    seen: list[int] = []

    def count(*_: object) -> None:
        seen.append(1)

    event.listen(registry.engine, "checkout", count)
    try:
        yield seen
    finally:
        event.remove(registry.engine, "checkout", count)


def _bundle(data: bytes, instance: SigstoreInstance,
            identity: GitHubIdentity = IDENTITY) -> dict[str, tuple[str, bytes, str]]:
    return {"sigstore_bundle": ("bundle.sigstore.json", instance.sign_artifact(data, identity),
                                "application/json")}


@pytest.fixture
def owner(actors: Actors) -> httpx.Client:
    """olga, owner of @acme, whose release workflow is the scope's trusted publisher."""
    client = actors.client(actors.user("olga"))
    assert client.post("/api/v1/orgs", json={"name": "acme"}).status_code == 201
    response = client.post("/api/v1/trusted-publishers", json={
        "target": "@acme", "repository": IDENTITY.repository, "workflow": IDENTITY.workflow})
    assert response.status_code == 201, response.text
    return client


# The policy ``none`` (development only) lets an unsigned publish stand beside a signed one.
@pytest.mark.parametrize("settings_overrides", [{"default_signature_policy": "none"}],
                         indirect=True)
def test_a_signed_publish_takes_as_many_connections_as_an_unsigned_one(
        owner: httpx.Client, server: RunningServer,
        sigstore_instance: SigstoreInstance) -> None:
    # A first Sigstore publish loads sigstore-python (outside any transaction).
    assert publish(owner, "@acme/warm", "1.0.0", b"warm",
                   **_bundle(b"warm", sigstore_instance)).status_code == 201
    with checkouts(server.registry) as unsigned:
        assert publish(owner, "@acme/plain", "1.0.0", b"plain", signed=False).status_code == 201
    with checkouts(server.registry) as signed:
        response = publish(owner, "@acme/widget", "1.0.0", b"signed",
                           **_bundle(b"signed", sigstore_instance))
    assert response.status_code == 201, response.text
    assert response.json()["signer"]["method"] == "sigstore"
    # PostgreSQL: one transaction each; SQLite: a read session and a write transaction each.
    assert len(signed) == len(unsigned) == (
        1 if server.registry.engine.dialect.name == "postgresql" else 2)


def test_a_removed_publisher_vouches_for_nothing_from_the_next_publish(
        actors: Actors, owner: httpx.Client, server: RunningServer,
        sigstore_instance: SigstoreInstance) -> None:
    assert publish(owner, "@acme/widget", "1.0.0", b"one",
                   **_bundle(b"one", sigstore_instance)).status_code == 201
    (row,) = owner.get("/api/v1/trusted-publishers", params={"target": "@acme"}).json()
    assert owner.delete(f"/api/v1/trusted-publishers/{row['id']}").status_code == 204
    before = state_counts(server)
    response = publish(owner, "@acme/widget", "1.0.1", b"two",
                       **_bundle(b"two", sigstore_instance))
    assert_problem(response, 400, "no_trusted_publisher")
    assert state_counts(server) == before


def test_a_bundle_for_other_bytes_or_another_workflow_leaves_nothing(
        owner: httpx.Client, server: RunningServer,
        sigstore_instance: SigstoreInstance) -> None:
    before = state_counts(server)
    other_bytes = _bundle(b"the reviewed bytes", sigstore_instance)
    assert_problem(publish(owner, "@acme/widget", "1.0.0", b"the reviewed bytes + backdoor",
                           **other_bytes), 400, "artifact_mismatch")
    fork = GitHubIdentity(repository="mallory/widget", workflow="release.yml")
    assert_problem(publish(owner, "@acme/widget", "1.0.0", b"forked",
                           **_bundle(b"forked", sigstore_instance, fork)),
                   400, "identity_mismatch")
    # The name stays free: no package row was left by the refused first publishes.
    assert owner.get("/api/v1/packages/@acme/widget").status_code == 404
    assert state_counts(server) == before


def test_two_accounts_signing_one_new_name_at_once_leave_one_owner(
        actors: Actors, server: RunningServer, sigstore_instance: SigstoreInstance) -> None:
    """alice and bob each registered a pending publisher for the same new name (their own
    workflows) and publish signed at the same moment, the head start alternating: the unique
    name decides; the loser is refused and leaves no version, blob or audit event."""
    clients = {who: actors.client(actors.user(who)) for who in ("alice", "bob")}
    identities = {who: GitHubIdentity(repository=f"{who}/tool", workflow="release.yml")
                  for who in clients}
    for round_ in range(4):
        name = f"contested-{round_}"
        for who, client in clients.items():
            response = client.post("/api/v1/trusted-publishers", json={
                "target": name, "repository": identities[who].repository,
                "workflow": identities[who].workflow})
            assert response.status_code == 201, response.text
        data = {who: f"{who} {name}".encode() for who in clients}
        bundles = {who: _bundle(data[who], sigstore_instance, identities[who])
                   for who in clients}
        before = state_counts(server)
        results = at_once({
            who: partial(publish, clients[who], name, "1.0.0", data[who], **bundles[who])
            for who in clients}, reverse=bool(round_ % 2))
        winners = [who for who, status in results.items() if status == 201]
        assert len(winners) == 1, results
        loser = "bob" if winners == ["alice"] else "alice"
        assert results[loser] in (400, 403), results
        assert package_owners(server, name) == {winners[0]}
        after = state_counts(server)
        assert (after.versions, after.blobs_rows, after.blob_files) == (
            before.versions + 1, before.blobs_rows + 1, before.blob_files + 1)
        # The winner's: package:create, its publisher's pending-activated, the loser's
        # publisher's pending-invalidated, version:publish; none of the loser's own.
        assert sorted((e.action, e.actor)
                      for e in audit_events(server)[before.audit_events:]) == [
            ("package:create", winners[0]),
            ("trusted-publisher:pending-activated", winners[0]),
            ("trusted-publisher:pending-invalidated", winners[0]),
            ("version:publish", winners[0])]


def test_only_offline_bundles_are_checked_in_the_transaction(
        settings: Settings, sigstore_trusted_root_path: str) -> None:
    # What decides the path: gpg (a subprocess), an online log lookup and PEP 740
    # attestations are never checked with a connection held (issue 11), whatever else the
    # upload carries; nothing to check, or a bundle checked offline, may be.
    trust = TrustRoot.from_file(sigstore_trusted_root_path)
    offline = PolicySignatureChecker("any", RegistryEvidenceVerifier(trust))
    online = PolicySignatureChecker(
        "any", RegistryEvidenceVerifier(trust, log_check=lambda *_: None))
    bundle, signature = Evidence(sigstore_bundle=b"{}"), Evidence(gpg_signature=b"sig")
    both = Evidence(sigstore_bundle=b"{}", gpg_signature=b"sig")
    assert [offline.verifies_in_process(e) for e in (Evidence(), bundle, signature, both)] == [
        True, True, False, False]
    assert [online.verifies_in_process(e) for e in (Evidence(), bundle, signature)] == [
        True, False, False]
    assert not PolicySignatureChecker("any", None).verifies_in_process(bundle)
    python = AttestationSignatureChecker.around(offline)
    assert not python.verifies_in_process(UploadEvidence(attestations=b"[]"))
    assert python.verifies_in_process(UploadEvidence(sigstore_bundle=b"{}"))
