"""A trusted publisher that stops acting while its bundle is being verified is refused.

Sigstore verification runs with no database session (issue 11); the write transaction then
re-checks that every publisher the bundle was checked against still acts (issue 13 made that
re-check load only those publishers). Here the verifier is the real one, with the local Sigstore
instance's trust root, and its online-log hook (which runs inside the verification, after the
read session closed) changes the database the way a concurrent request would: the publisher
row is removed, or its registrant leaves the org. The upload must be refused with 403
``invalid_publisher`` and leave nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy import delete
from sqlmodel import col, select

from app.core.clock import ManualClock
from app.core.config import Settings
from app.core.db import session_scope
from app.core.models import Membership, Org, TrustedPublisher, User
from app.registry import Registry
from app.trust.verifier import RegistryEvidenceVerifier
from signing.sigstore import VerifiedSigstore
from signing.trust import TrustRoot
from tests.conftest import Actors, state_counts
from tests.functional.helpers import assert_problem, publish
from tests.support.server import RunningServer, running_registry
from tests.support.sigstore_local import GitHubIdentity, SigstoreInstance

ALICE_CI = GitHubIdentity(repository="alice/widget", workflow="release.yml")
MALLORY_CI = GitHubIdentity(repository="mallory/tools", workflow="release.yml")


class MidVerification:
    """The verifier's log hook: runs ``action`` once, inside the next verification."""

    def __init__(self) -> None:
        self.action: Callable[[], None] | None = None
        self.ran = 0

    def __call__(self, bundle: bytes, verified: VerifiedSigstore) -> None:
        if self.action is not None:
            action, self.action = self.action, None
            action()
            self.ran += 1


@pytest.fixture
def hook() -> MidVerification:
    return MidVerification()


@pytest.fixture
def server(settings: Settings, clock: ManualClock,
           hook: MidVerification) -> Iterator[RunningServer]:
    verifier = RegistryEvidenceVerifier(TrustRoot.named(settings.sigstore_trust), log_check=hook)
    registry = Registry.build(settings, clock=clock, verifier=verifier)
    with running_registry(settings, clock, registry) as running:
        yield running


def _signed(client: httpx.Client, sigstore: SigstoreInstance, name: str, version: str,
            ident: GitHubIdentity) -> httpx.Response:
    data = f"{name} {version} by {ident.repository}".encode()
    bundle = sigstore.sign_artifact(data, ident)
    return publish(client, name, version, data,
                   sigstore_bundle=("bundle.sigstore.json", bundle, "application/json"))


def _register(client: httpx.Client, target: str, ident: GitHubIdentity) -> None:
    answer = client.post("/api/v1/trusted-publishers", json={
        "target": target, "repository": ident.repository, "workflow": ident.workflow})
    assert answer.status_code == 201, answer.text


def test_a_publisher_removed_during_verification_is_refused(
        actors: Actors, sigstore_instance: SigstoreInstance, hook: MidVerification) -> None:
    alice = actors.client(actors.user("alice"))
    _register(alice, "widget", ALICE_CI)
    assert _signed(alice, sigstore_instance, "widget", "1.0.0", ALICE_CI).status_code == 201
    engine = actors.server.registry.engine

    def remove_publisher() -> None:
        with session_scope(engine, write=True) as session:
            session.execute(delete(TrustedPublisher).where(
                col(TrustedPublisher.package_name) == "widget"))

    before = state_counts(actors.server)
    hook.action = remove_publisher
    body = assert_problem(_signed(alice, sigstore_instance, "widget", "1.1.0", ALICE_CI),
                          403, "invalid_publisher")
    assert hook.ran == 1
    assert "stopped acting" in body["detail"]
    assert state_counts(actors.server) == before
    versions = [v["version"] for v in alice.get("/api/v1/packages/widget").json()["versions"]]
    assert versions == ["1.0.0"]


def test_a_scope_publisher_whose_registrant_leaves_during_verification_is_refused(
        actors: Actors, sigstore_instance: SigstoreInstance, hook: MidVerification) -> None:
    """olga uploads (her own token) a bundle of mallory's @acme publisher; mallory is removed
    from the org while the bundle is checked: the publisher acts for nobody any more."""
    olga = actors.client(actors.user("olga"))
    assert olga.post("/api/v1/orgs", json={"name": "acme"}).status_code == 201
    actors.user("mallory")
    assert olga.post("/api/v1/orgs/acme/members",
                     json={"user": "mallory", "role": "owner"}).status_code == 201
    _register(actors.client(actors.token("mallory")), "@acme", MALLORY_CI)
    assert _signed(olga, sigstore_instance, "@acme/tool", "1.0.0", MALLORY_CI).status_code == 201
    engine = actors.server.registry.engine

    def mallory_leaves() -> None:
        with session_scope(engine, write=True) as session:
            org = session.exec(select(Org).where(Org.name == "acme")).one()
            user = session.exec(select(User).where(User.name == "mallory")).one()
            session.execute(delete(Membership).where(col(Membership.org_id) == org.id,
                                                     col(Membership.user_id) == user.id))

    before = state_counts(actors.server)
    hook.action = mallory_leaves
    assert_problem(_signed(olga, sigstore_instance, "@acme/tool", "1.0.1", MALLORY_CI),
                   403, "invalid_publisher")
    assert hook.ran == 1
    assert state_counts(actors.server) == before
    # Without the change in the middle the same upload passes (the refusal was the re-check).
    assert olga.post("/api/v1/orgs/acme/members",
                     json={"user": "mallory", "role": "owner"}).status_code == 201
    assert _signed(olga, sigstore_instance, "@acme/tool", "1.0.1", MALLORY_CI).status_code == 201
