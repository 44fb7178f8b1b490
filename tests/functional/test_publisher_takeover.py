"""Who may publish a package through a trusted publisher (issue 9, "Who may publish").

A trusted publisher registered for a name that does not exist yet is *pending*: it reserves
nothing, expires after 30 days, and a user may hold at most 3. Whoever creates the package by
any other route invalidates the pending publishers of everybody who does not own the new
package. A publisher only ever acts for someone who owns its target now: a registrant who lost
the package or left the org no longer publishes through it. Every test drives the real server
over HTTP with real OIDC tokens (the local issuer) and real Sigstore bundles (the local
instance), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from app.core.clock import ManualClock
from app.core.db import session_scope
from app.core.models import ApiToken, AuditEvent, TrustedPublisher
from tests.conftest import Actors, state_counts
from tests.functional.helpers import assert_problem, at_once, package_owners, publish
from tests.support.sigstore_local import GitHubIdentity, SigstoreInstance
from tests.support.sigstore_local.oidc import OidcSigningKey, make_github_oidc_token

AUDIENCE = "vouch-takeover"
BOB_CI = GitHubIdentity(repository="bob/evil", workflow="release.yml", ref="refs/tags/v1.0.1")
ALICE_CI = GitHubIdentity(repository="alice/claimme", workflow="release.yml",
                          ref="refs/tags/v1.0.0")


@pytest.fixture
def settings_overrides(github_jwks_path: Path,
                       sigstore_trusted_root_path: Path) -> dict[str, object]:
    return {"oidc_jwks_file": github_jwks_path, "oidc_audience": AUDIENCE,
            "sigstore_trust": str(sigstore_trusted_root_path),
            "default_signature_policy": "sigstore"}


# -- helpers ----------------------------------------------------------------------------------
def _register(client: httpx.Client, target: str, ident: GitHubIdentity,
              **extra: Any) -> httpx.Response:
    return client.post("/api/v1/trusted-publishers", json={
        "target": target, "repository": ident.repository, "workflow": ident.workflow, **extra})


def _mint(actors: Actors, key: OidcSigningKey, ident: GitHubIdentity) -> httpx.Response:
    token = make_github_oidc_token(ident, key=key, audience=AUDIENCE,
                                   issued_at=actors.server.clock.now())
    with actors.client() as anonymous:
        return anonymous.post("/api/v1/oidc/mint-token", json={"token": token})


def _ci(actors: Actors, key: OidcSigningKey, ident: GitHubIdentity) -> httpx.Client:
    response = _mint(actors, key, ident)
    assert response.status_code == 200, response.text
    return actors.client(response.json()["token"])


def _publish_signed(client: httpx.Client, sigstore: SigstoreInstance, name: str, version: str,
                    ident: GitHubIdentity) -> httpx.Response:
    data = f"{name} {version} by {ident.repository}".encode()
    bundle = sigstore.sign_artifact(data, ident)
    return publish(client, name, version, data,
                   sigstore_bundle=("bundle.sigstore.json", bundle, "application/json"))


def _events(actors: Actors, action: str) -> list[AuditEvent]:
    with session_scope(actors.server.registry.engine) as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)
                                 .order_by(col(AuditEvent.id))))


def _publisher_rows(actors: Actors, package: str) -> list[TrustedPublisher]:
    with session_scope(actors.server.registry.engine) as session:
        return list(session.exec(select(TrustedPublisher)
                                 .where(TrustedPublisher.package_name == package)))


def _latest(actors: Actors, name: str) -> str | None:
    response = actors.client().get(f"/api/v1/packages/{name}")
    assert response.status_code == 200, response.text
    latest: str | None = response.json().get("latest")
    return latest


# -- the reported takeover --------------------------------------------------------------------
def test_a_pending_publisher_dies_when_someone_else_claims_the_name(
        actors: Actors, github_oidc_key: OidcSigningKey,
        sigstore_instance: SigstoreInstance) -> None:
    """Reported: bob registers `bob/evil` for the unclaimed `claimme`; alice publishes
    claimme@1.0.0 and owns it; bob's workflow then published 1.0.1 (201) and moved latest."""
    bob = actors.client(actors.user("bob"))
    assert _register(bob, "claimme", BOB_CI).status_code == 201
    alice = actors.client(actors.user("alice"))
    assert _register(alice, "claimme", ALICE_CI).status_code == 201
    assert _publish_signed(alice, sigstore_instance, "claimme", "1.0.0",
                           ALICE_CI).status_code == 201
    assert package_owners(actors.server, "claimme") == {"alice"}

    # bob's pending publisher is gone, with an audit event naming it; alice's one stays.
    rows = _publisher_rows(actors, "claimme")
    assert [(r.repository, r.created_by) for r in rows] == [("alice/claimme", "alice")]
    (event,) = _events(actors, "trusted-publisher:pending-invalidated")
    assert event.package == "claimme" and event.actor == "alice"
    assert event.details["repository"] == "bob/evil"
    assert event.details["registered_by"] == "bob"

    before = state_counts(actors.server)
    body = assert_problem(_mint(actors, github_oidc_key, BOB_CI), 403, "invalid_publisher")
    assert "bob/evil" in body["detail"]
    assert state_counts(actors.server) == before
    # Nor can bob register it again: the name is alice's now.
    assert_problem(_register(bob, "claimme", BOB_CI), 403, "forbidden")
    assert _latest(actors, "claimme") == "1.0.0"


def test_a_token_minted_before_the_claim_dies_with_the_pending_publisher(
        actors: Actors, github_oidc_key: OidcSigningKey,
        sigstore_instance: SigstoreInstance) -> None:
    """bob exchanges first (his publisher is still pending), alice claims the name, then bob
    uploads with the token he already holds: refused, nothing stored."""
    bob = actors.client(actors.user("bob"))
    assert _register(bob, "claimme", BOB_CI).status_code == 201
    bob_ci = _ci(actors, github_oidc_key, BOB_CI)
    alice = actors.client(actors.user("alice"))
    assert _register(alice, "claimme", ALICE_CI).status_code == 201
    assert _publish_signed(alice, sigstore_instance, "claimme", "1.0.0",
                           ALICE_CI).status_code == 201
    before = state_counts(actors.server)
    response = _publish_signed(bob_ci, sigstore_instance, "claimme", "1.0.1", BOB_CI)
    assert_problem(response, 401, "invalid_token")
    assert state_counts(actors.server) == before
    assert _latest(actors, "claimme") == "1.0.0"


def test_a_token_covering_several_packages_loses_the_claimed_one(
        actors: Actors, github_oidc_key: OidcSigningKey,
        sigstore_instance: SigstoreInstance) -> None:
    """bob's workflow is the publisher of his own `bobs-tool` (older, so the minted token is
    bound to that publisher) and pending for `claimme`: after alice claims `claimme` the
    token keeps `bobs-tool` but can no longer publish `claimme`."""
    bob = actors.client(actors.user("bob"))
    assert _register(bob, "bobs-tool", BOB_CI).status_code == 201
    assert _register(bob, "claimme", BOB_CI).status_code == 201
    response = _mint(actors, github_oidc_key, BOB_CI)
    assert response.status_code == 200, response.text
    assert response.json()["packages"] == ["bobs-tool", "claimme"]
    bob_ci = actors.client(response.json()["token"])
    alice = actors.client(actors.user("alice"))
    assert _register(alice, "claimme", ALICE_CI).status_code == 201
    assert _publish_signed(alice, sigstore_instance, "claimme", "1.0.0",
                           ALICE_CI).status_code == 201
    before = state_counts(actors.server)
    assert_problem(_publish_signed(bob_ci, sigstore_instance, "claimme", "1.0.1", BOB_CI),
                   403, "forbidden")
    assert state_counts(actors.server) == before
    published = _publish_signed(bob_ci, sigstore_instance, "bobs-tool", "1.0.0", BOB_CI)
    assert published.status_code == 201, published.text
    assert package_owners(actors.server, "bobs-tool") == {"bob"}


def test_the_pending_publishers_own_workflow_creates_the_package_for_its_registrant(
        actors: Actors, github_oidc_key: OidcSigningKey,
        sigstore_instance: SigstoreInstance) -> None:
    """The legitimate path: the workflow's first publish creates the package, owned by the
    publisher's registrant; other users' pending publishers for the name are invalidated,
    even when they are older (the oldest registrant does not become the owner)."""
    bob = actors.client(actors.user("bob"))
    assert _register(bob, "claimme", BOB_CI).status_code == 201
    alice = actors.client(actors.user("alice"))
    assert _register(alice, "claimme", ALICE_CI).status_code == 201
    alice_ci = _ci(actors, github_oidc_key, ALICE_CI)
    assert _publish_signed(alice_ci, sigstore_instance, "claimme", "1.0.0",
                           ALICE_CI).status_code == 201
    assert package_owners(actors.server, "claimme") == {"alice"}
    assert [r.created_by for r in _publisher_rows(actors, "claimme")] == ["alice"]
    assert [r.pending_expires_at for r in _publisher_rows(actors, "claimme")] == [None]
    assert len(_events(actors, "trusted-publisher:pending-invalidated")) == 1
    assert_problem(_mint(actors, github_oidc_key, BOB_CI), 403, "invalid_publisher")


def test_the_same_workflow_registered_by_two_accounts_creates_nothing(
        actors: Actors, github_oidc_key: OidcSigningKey,
        sigstore_instance: SigstoreInstance) -> None:
    """Squatting someone else's workflow: bob registers alice's repository as his pending
    publisher for `claimme` before alice does. Her workflow must not create a package that
    bob owns: with two registrants for one workflow and name, nobody is made owner."""
    bob = actors.client(actors.user("bob"))
    assert _register(bob, "claimme", ALICE_CI).status_code == 201
    alice = actors.client(actors.user("alice"))
    assert _register(alice, "claimme", ALICE_CI).status_code == 201
    body = assert_problem(_mint(actors, github_oidc_key, ALICE_CI), 403, "invalid_publisher")
    assert "several accounts" in body["detail"]
    # alice resolves it by publishing herself: bob's squat is invalidated.
    assert _publish_signed(alice, sigstore_instance, "claimme", "1.0.0",
                           ALICE_CI).status_code == 201
    assert [r.created_by for r in _publisher_rows(actors, "claimme")] == ["alice"]
    assert _ci(actors, github_oidc_key, ALICE_CI) is not None


# -- limits and expiry ------------------------------------------------------------------------
def test_pending_publishers_expire_after_30_days(
        actors: Actors, github_oidc_key: OidcSigningKey, clock: ManualClock) -> None:
    bob = actors.client(actors.user("bob"))
    created = _register(bob, "claimme", BOB_CI)
    assert created.status_code == 201, created.text
    expires = created.json()["pending_expires_at"]
    assert expires == (clock.now() + timedelta(days=30)).isoformat()
    clock.advance(timedelta(days=30) - timedelta(seconds=1))
    assert _mint(actors, github_oidc_key, BOB_CI).status_code == 200
    clock.advance(timedelta(seconds=1))
    body = assert_problem(_mint(actors, github_oidc_key, BOB_CI), 403, "invalid_publisher")
    assert "expired" in body["detail"]
    # The next registration (anyone's) sweeps the expired row away, with an audit event.
    carol = actors.client(actors.user("carol"))
    assert _register(carol, "other-name", ALICE_CI).status_code == 201
    assert _publisher_rows(actors, "claimme") == []
    (event,) = _events(actors, "trusted-publisher:pending-expired")
    assert event.details["registered_by"] == "bob" and event.package == "claimme"
    assert_problem(_mint(actors, github_oidc_key, BOB_CI), 403, "invalid_publisher")


def test_a_token_minted_before_expiry_stops_at_expiry(
        actors: Actors, github_oidc_key: OidcSigningKey, clock: ManualClock,
        sigstore_instance: SigstoreInstance) -> None:
    bob = actors.client(actors.user("bob"))
    assert _register(bob, "claimme", BOB_CI).status_code == 201
    clock.advance(timedelta(days=30) - timedelta(minutes=5))
    bob_ci = _ci(actors, github_oidc_key, BOB_CI)
    clock.advance(timedelta(minutes=5))
    assert_problem(_publish_signed(bob_ci, sigstore_instance, "claimme", "1.0.0", BOB_CI),
                   403, "forbidden")


def test_a_user_holds_at_most_three_pending_publishers(
        actors: Actors, clock: ManualClock, sigstore_instance: SigstoreInstance) -> None:
    bob = actors.client(actors.user("bob"))
    for name in ("one", "two", "three"):
        assert _register(bob, name, BOB_CI).status_code == 201
    before = state_counts(actors.server)
    body = assert_problem(_register(bob, "four", BOB_CI), 409, "too_many_pending_publishers")
    assert "3" in body["detail"]
    assert state_counts(actors.server) == before
    assert _publisher_rows(actors, "four") == []
    # Other users have their own allowance; publishers of existing packages do not count.
    alice = actors.client(actors.user("alice"))
    assert _register(alice, "four", ALICE_CI).status_code == 201
    assert _publish_signed(alice, sigstore_instance, "four", "1.0.0",
                           ALICE_CI).status_code == 201
    for name in ("five", "six"):
        assert _register(alice, name, ALICE_CI).status_code == 201
    assert _register(alice, "four", BOB_CI).status_code == 201  # not pending
    # An expired one frees a slot.
    clock.advance(timedelta(days=31))
    assert _register(bob, "four-b", BOB_CI).status_code == 201


def test_concurrent_registrations_never_exceed_the_limit(actors: Actors) -> None:
    bob_token = actors.user("bob")
    results: list[int] = []
    lock = threading.Lock()

    def register(i: int) -> None:
        with actors.client(bob_token) as bob:
            status = _register(bob, f"race-{i}", BOB_CI).status_code
        with lock:
            results.append(status)

    threads = [threading.Thread(target=register, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [201] * 3 + [409] * 5
    with session_scope(actors.server.registry.engine) as session:
        rows = session.exec(select(TrustedPublisher).where(
            TrustedPublisher.created_by == "bob")).all()
    assert len(rows) == 3


def test_registering_for_someone_elses_existing_package_is_refused(
        actors: Actors, sigstore_instance: SigstoreInstance) -> None:
    alice = actors.client(actors.user("alice"))
    assert _register(alice, "claimme", ALICE_CI).status_code == 201
    assert _publish_signed(alice, sigstore_instance, "claimme", "1.0.0",
                           ALICE_CI).status_code == 201
    bob = actors.client(actors.user("bob"))
    before = state_counts(actors.server)
    assert_problem(_register(bob, "claimme", BOB_CI), 403, "forbidden")
    assert state_counts(actors.server) == before


def test_only_its_registrant_removes_a_pending_publisher(actors: Actors) -> None:
    """Anyone may create an unclaimed name, so "may control the name" let any user delete
    another user's pending publisher; now only its registrant (or an administrator) may."""
    bob = actors.client(actors.user("bob"))
    created = _register(bob, "claimme", BOB_CI).json()
    carol = actors.client(actors.user("carol"))
    before = state_counts(actors.server)
    body = assert_problem(carol.delete(f"/api/v1/trusted-publishers/{created['id']}"), 403,
                          "forbidden")
    assert "bob" in body["detail"]
    assert state_counts(actors.server) == before
    listed = carol.get("/api/v1/trusted-publishers", params={"target": "claimme"}).json()
    assert [(p["id"], p["pending_expires_at"]) for p in listed] == [
        (created["id"], created["pending_expires_at"])]
    assert bob.delete(f"/api/v1/trusted-publishers/{created['id']}").status_code == 204
    assert _publisher_rows(actors, "claimme") == []


def test_an_org_owner_may_remove_a_members_pending_scoped_publisher(actors: Actors) -> None:
    olga = actors.client(actors.user("olga"))
    _org(actors, olga, "acme")
    for member in ("mallory", "mike"):
        actors.user(member)
        assert olga.post("/api/v1/orgs/acme/members",
                         json={"user": member, "role": "member"}).status_code == 201
    mallory = actors.client(actors.token("mallory"))
    created = _register(mallory, "@acme/new", BOB_CI).json()
    mike = actors.client(actors.token("mike"))
    assert_problem(mike.delete(f"/api/v1/trusted-publishers/{created['id']}"), 403,
                   "forbidden")
    assert olga.delete(f"/api/v1/trusted-publishers/{created['id']}").status_code == 204
    assert _publisher_rows(actors, "@acme/new") == []


def test_a_registration_that_raced_the_claim_acts_for_nobody_and_is_swept(
        actors: Actors, github_oidc_key: OidcSigningKey, clock: ManualClock,
        sigstore_instance: SigstoreInstance) -> None:
    """bob's registration checked "claimme does not exist" while alice's first publish was
    committing: his row is left pending for a package that is alice's. It must not act, and
    the next registration's sweep removes it (as the claim would have)."""
    alice = actors.client(actors.user("alice"))
    assert _register(alice, "claimme", ALICE_CI).status_code == 201
    assert _publish_signed(alice, sigstore_instance, "claimme", "1.0.0",
                           ALICE_CI).status_code == 201
    actors.user("bob")
    with session_scope(actors.server.registry.engine, write=True) as session:
        session.add(TrustedPublisher(  # what the losing registration leaves behind
            package_name="claimme", repository=BOB_CI.repository, workflow=BOB_CI.workflow,
            created_at=clock.now(), created_by="bob",
            pending_expires_at=clock.now() + timedelta(days=30)))
    body = assert_problem(_mint(actors, github_oidc_key, BOB_CI), 403, "invalid_publisher")
    assert "bob does not own claimme" in body["detail"]
    before = state_counts(actors.server)
    assert_problem(_publish_signed(alice, sigstore_instance, "claimme", "1.0.1", BOB_CI),
                   400, "identity_mismatch")
    assert state_counts(actors.server) == before
    carol = actors.client(actors.user("carol"))
    assert _register(carol, "elsewhere", ALICE_CI).status_code == 201
    assert [r.created_by for r in _publisher_rows(actors, "claimme")] == ["alice"]
    (event,) = _events(actors, "trusted-publisher:pending-invalidated")
    assert event.details["registered_by"] == "bob"


# -- race: two parties claim one name at the same time ----------------------------------------
def test_concurrent_claims_leave_one_owner_and_no_foreign_version(
        actors: Actors, github_oidc_key: OidcSigningKey,
        sigstore_instance: SigstoreInstance) -> None:
    """alice (by hand) and bob's pending publisher's workflow publish `claimme` at the same
    moment, several rounds: the package's unique name decides; the loser gets 403 and its
    version is never added to the winner's package."""
    alice_token = actors.user("alice")
    bob = actors.client(actors.user("bob"))
    alice = actors.client(alice_token)
    for round_ in range(6):
        name = f"claim-{round_}"
        assert _register(alice, name, ALICE_CI).status_code == 201
        assert _register(bob, name, BOB_CI).status_code == 201
        bob_ci = _ci(actors, github_oidc_key, BOB_CI)

        def attempt(client: httpx.Client, ident: GitHubIdentity, version: str,
                    name: str = name) -> Callable[[], httpx.Response]:
            data = f"{name} {version}".encode()
            bundle = sigstore_instance.sign_artifact(data, ident)
            return partial(publish, client, name, version, data, sigstore_bundle=(
                "b.sigstore.json", bundle, "application/json"))

        # Signed first; the barrier then releases both uploads, each side first in turn.
        results = at_once({"alice": attempt(alice, ALICE_CI, "1.0.0"),
                           "bob": attempt(bob_ci, BOB_CI, "1.0.1")}, reverse=bool(round_ % 2))
        winners = [who for who, status in results.items() if status == 201]
        assert len(winners) == 1, results
        loser = "bob" if winners == ["alice"] else "alice"
        assert results[loser] in (401, 403), results
        assert package_owners(actors.server, name) == {winners[0]}
        response = actors.client().get(f"/api/v1/packages/{name}")
        versions = [v["version"] for v in response.json()["versions"]]
        assert versions == (["1.0.0"] if winners == ["alice"] else ["1.0.1"])
        # Only the winner's publishers survive.
        assert {r.created_by for r in _publisher_rows(actors, name)} == {winners[0]}
        # Pending slots: bob and alice each hold at most one at a time here.
        for row in _publisher_rows(actors, name):
            assert row.pending_expires_at is None
        _retire(actors, name)


def _retire(actors: Actors, name: str) -> None:
    """Free the winner's slot so the next round starts from the same counts."""
    with session_scope(actors.server.registry.engine, write=True) as session:
        for token in session.exec(select(ApiToken).where(
                col(ApiToken.trusted_publisher_id).is_not(None))):
            token.trusted_publisher_id = None
            session.add(token)
        session.flush()
        for row in session.exec(select(TrustedPublisher).where(
                TrustedPublisher.package_name == name)):
            session.delete(row)


# -- @scope publishers and org membership -----------------------------------------------------
def _org(actors: Actors, owner: httpx.Client, name: str) -> None:
    assert owner.post("/api/v1/orgs", json={"name": name}).status_code == 201


def test_a_scope_publisher_stops_when_its_registrant_leaves_the_org(
        actors: Actors, github_oidc_key: OidcSigningKey,
        sigstore_instance: SigstoreInstance) -> None:
    olga = actors.client(actors.user("olga"))
    _org(actors, olga, "acme")
    actors.user("mallory")
    assert olga.post("/api/v1/orgs/acme/members",
                     json={"user": "mallory", "role": "owner"}).status_code == 201
    mallory = actors.client(actors.token("mallory"))
    mal_ci = GitHubIdentity(repository="mallory/tools", workflow="release.yml")
    assert _register(mallory, "@acme", mal_ci).status_code == 201
    token = _ci(actors, github_oidc_key, mal_ci)
    assert _publish_signed(token, sigstore_instance, "@acme/tool", "1.0.0",
                           mal_ci).status_code == 201
    # olga removes mallory: her scope publisher acts for nobody now.
    assert olga.delete("/api/v1/orgs/acme/members/mallory").status_code == 204
    before = state_counts(actors.server)
    assert_problem(_publish_signed(token, sigstore_instance, "@acme/tool", "1.0.1", mal_ci),
                   403, "forbidden")
    body = assert_problem(_mint(actors, github_oidc_key, mal_ci), 403, "invalid_publisher")
    assert "no longer" in body["detail"]
    assert state_counts(actors.server) == before
    # Nor do her bundles vouch for anything olga uploads.
    assert_problem(_publish_signed(olga, sigstore_instance, "@acme/tool", "1.0.1", mal_ci),
                   400, "no_trusted_publisher")


def test_a_scope_publisher_needs_its_registrant_to_stay_an_owner_of_the_org(
        actors: Actors, github_oidc_key: OidcSigningKey) -> None:
    """Demotion from owner to member (remove + add again as member) also ends it."""
    olga = actors.client(actors.user("olga"))
    _org(actors, olga, "acme")
    actors.user("mallory")
    assert olga.post("/api/v1/orgs/acme/members",
                     json={"user": "mallory", "role": "owner"}).status_code == 201
    mallory = actors.client(actors.token("mallory"))
    mal_ci = GitHubIdentity(repository="mallory/tools", workflow="release.yml")
    assert _register(mallory, "@acme", mal_ci).status_code == 201
    assert olga.delete("/api/v1/orgs/acme/members/mallory").status_code == 204
    assert olga.post("/api/v1/orgs/acme/members",
                     json={"user": "mallory", "role": "member"}).status_code == 201
    assert_problem(_mint(actors, github_oidc_key, mal_ci), 403, "invalid_publisher")


def test_a_pending_scoped_publisher_of_a_removed_member_dies_when_the_package_is_created(
        actors: Actors, github_oidc_key: OidcSigningKey,
        sigstore_instance: SigstoreInstance) -> None:
    olga = actors.client(actors.user("olga"))
    _org(actors, olga, "acme")
    actors.user("mallory")
    assert olga.post("/api/v1/orgs/acme/members",
                     json={"user": "mallory", "role": "member"}).status_code == 201
    mallory = actors.client(actors.token("mallory"))
    mal_ci = GitHubIdentity(repository="mallory/tools", workflow="release.yml")
    olga_ci = GitHubIdentity(repository="acme/new", workflow="release.yml")
    assert _register(mallory, "@acme/new", mal_ci).status_code == 201
    assert _register(olga, "@acme/new", olga_ci).status_code == 201
    assert olga.delete("/api/v1/orgs/acme/members/mallory").status_code == 204
    # Still pending, but it acts for nobody: no exchange.
    assert_problem(_mint(actors, github_oidc_key, mal_ci), 403, "invalid_publisher")
    assert _publish_signed(olga, sigstore_instance, "@acme/new", "1.0.0",
                           olga_ci).status_code == 201
    assert [r.created_by for r in _publisher_rows(actors, "@acme/new")] == ["olga"]
    (event,) = _events(actors, "trusted-publisher:pending-invalidated")
    assert event.details["registered_by"] == "mallory"


def test_a_package_publisher_stops_when_its_registrant_is_no_longer_an_owner(
        actors: Actors, github_oidc_key: OidcSigningKey,
        sigstore_instance: SigstoreInstance) -> None:
    """A scoped package's publisher acts for its registrant's membership of the scope."""
    olga = actors.client(actors.user("olga"))
    _org(actors, olga, "acme")
    actors.user("mallory")
    assert olga.post("/api/v1/orgs/acme/members",
                     json={"user": "mallory", "role": "member"}).status_code == 201
    mallory = actors.client(actors.token("mallory"))
    mal_ci = GitHubIdentity(repository="mallory/tools", workflow="release.yml")
    assert _register(mallory, "@acme/lib", mal_ci).status_code == 201
    assert _publish_signed(_ci(actors, github_oidc_key, mal_ci), sigstore_instance,
                           "@acme/lib", "1.0.0", mal_ci).status_code == 201
    token = _ci(actors, github_oidc_key, mal_ci)
    assert olga.delete("/api/v1/orgs/acme/members/mallory").status_code == 204
    assert_problem(_publish_signed(token, sigstore_instance, "@acme/lib", "1.0.1", mal_ci),
                   403, "forbidden")
    assert_problem(_mint(actors, github_oidc_key, mal_ci), 403, "invalid_publisher")


# -- the repository-owner binding holds for Sigstore bundles too -------------------------------
WIDGET_CI = GitHubIdentity(repository="acme/widget", workflow="release.yml",
                           ref="refs/tags/v1.0.0")
#: acme/widget deleted and re-created by another GitHub account: same names, new owner id.
RECREATED = WIDGET_CI.with_(owner_id="999999999")


def test_a_bundle_from_a_recreated_repository_is_refused_whatever_token_uploads_it(
        actors: Actors, github_oidc_key: OidcSigningKey,
        sigstore_instance: SigstoreInstance) -> None:
    alice = actors.client(actors.user("alice"))
    assert _register(alice, "widget", WIDGET_CI,
                     repository_owner_id=WIDGET_CI.resolved_owner_id).status_code == 201
    ci = _ci(actors, github_oidc_key, WIDGET_CI)
    before = state_counts(actors.server)
    # alice's own (unrestricted) token uploading the usurper's bundle
    body = assert_problem(_publish_signed(alice, sigstore_instance, "widget", "1.0.0",
                                          RECREATED), 400, "identity_mismatch")
    assert "owner id" in body["detail"]
    # a token minted by the genuine workflow, carrying the usurper's bundle
    assert_problem(_publish_signed(ci, sigstore_instance, "widget", "1.0.0", RECREATED),
                   400, "identity_mismatch")
    assert state_counts(actors.server) == before
    # the genuine bundle passes, and records the owner id it was checked against
    published = _publish_signed(ci, sigstore_instance, "widget", "1.0.0", WIDGET_CI)
    assert published.status_code == 201, published.text
    github = published.json()["signer"]["identity"]["github"]
    assert github["repository_owner_id"] == WIDGET_CI.resolved_owner_id


def test_the_owner_id_bound_by_the_first_exchange_holds_for_bundles(
        actors: Actors, github_oidc_key: OidcSigningKey,
        sigstore_instance: SigstoreInstance) -> None:
    alice = actors.client(actors.user("alice"))
    assert _register(alice, "widget", WIDGET_CI).status_code == 201
    _ci(actors, github_oidc_key, WIDGET_CI)  # binds the owner id on first use
    listed = alice.get("/api/v1/trusted-publishers", params={"target": "widget"}).json()
    assert listed[0]["repository_owner_id"] == WIDGET_CI.resolved_owner_id
    before = state_counts(actors.server)
    assert_problem(_publish_signed(alice, sigstore_instance, "widget", "1.0.0", RECREATED),
                   400, "identity_mismatch")
    assert_problem(_mint(actors, github_oidc_key, RECREATED), 403, "invalid_publisher")
    assert state_counts(actors.server) == before
