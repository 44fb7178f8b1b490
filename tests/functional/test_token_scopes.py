"""A limited token (package patterns, action limits, read-only) never changes the account:
it cannot mint a broader token, revoke tokens, change organizations, trust configuration,
users or advisories (issue 9). Each test acts as the holder of a leaked limited token."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlmodel import func, select

from app.core.clock import ManualClock
from app.core.db import session_scope
from app.core.models import ApiToken, Membership, TrustedPublisher
from tests.conftest import Actors, StateCounts, state_counts
from tests.functional.helpers import assert_problem, publish
from tests.functional.test_advisories_fixtures import generic_advisory
from tests.support.sigstore_local import GitHubIdentity
from tests.support.sigstore_local.oidc import OidcSigningKey, make_github_oidc_token

SCOPE_CODE = "token_scope_insufficient"
AUDIENCE = "vouch-test"


@pytest.fixture
def settings_overrides(github_jwks_path: Path) -> dict[str, object]:
    """Trusted publishing on (for the minted-token test); nothing else changes."""
    return {"oidc_jwks_file": github_jwks_path, "oidc_audience": AUDIENCE}


def _tokens(actors: Actors) -> int:
    with session_scope(actors.server.registry.engine) as session:
        return int(session.exec(select(func.count()).select_from(ApiToken)).one())


def _rows(actors: Actors, model: type[Membership] | type[TrustedPublisher]) -> int:
    with session_scope(actors.server.registry.engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def _works(client: httpx.Client) -> bool:
    return client.get("/api/v1/whoami").status_code == 200


def _unchanged(actors: Actors, before: StateCounts, tokens: int) -> None:
    after = state_counts(actors.server)
    assert after.audit_events == before.audit_events
    assert after.versions == before.versions
    assert _tokens(actors) == tokens


def test_a_package_scoped_token_cannot_mint_an_unrestricted_token(actors: Actors) -> None:
    """The reported escalation: a token for other-pkg minted an unrestricted token (201)
    that then published alice's widget."""
    owner = actors.client(actors.user("alice"))
    assert publish(owner, "widget", "1.0.0").status_code == 201
    leaked = actors.client(actors.token("alice", packages=["other-pkg"]))
    assert_problem(publish(leaked, "widget", "1.0.1"), 403, "forbidden")
    before, tokens = state_counts(actors.server), _tokens(actors)

    for body in ({}, {"name": "ci"}, {"packages": ["widget"]}, {"packages": ["*"]},
                 {"actions": ["publish"]}, {"packages": ["other-pkg"]}):
        assert_problem(leaked.post("/api/v1/tokens", json=body), 403, SCOPE_CODE)
    _unchanged(actors, before, tokens)
    assert publish(owner, "widget", "1.0.1").status_code == 201  # the owner's token still can


def test_limited_tokens_cannot_list_or_revoke_tokens(actors: Actors) -> None:
    owner_token = actors.user("alice")
    owner = actors.client(owner_token)
    own = {t["name"]: t["id"] for t in owner.get("/api/v1/tokens").json()}
    assert len(own) == 1
    limited = {
        "read-only": actors.token("alice", actions=["read"]),
        "publish-only": actors.token("alice", actions=["publish"]),
        "one package": actors.token("alice", packages=["widget"]),
        "admin action": actors.token("alice", actions=["admin"]),
    }
    before, tokens = state_counts(actors.server), _tokens(actors)
    for secret in limited.values():
        client = actors.client(secret)
        assert_problem(client.get("/api/v1/tokens"), 403, SCOPE_CODE)
        for token_id in own.values():
            assert_problem(client.delete(f"/api/v1/tokens/{token_id}"), 403, SCOPE_CODE)
    _unchanged(actors, before, tokens)
    assert _works(owner)
    # The unrestricted token lists all five and can revoke a limited one.
    listed = owner.get("/api/v1/tokens").json()
    assert len(listed) == 5
    victim = max(t["id"] for t in listed)
    assert owner.delete(f"/api/v1/tokens/{victim}").status_code == 204


def test_an_administrators_read_only_token_cannot_revoke_anyones_token(actors: Actors) -> None:
    """Reported: an administrator's read-only token revoked another user's token (204)."""
    bob_token = actors.user("bob")
    bob = actors.client(bob_token)
    bob_token_id = bob.get("/api/v1/tokens").json()[0]["id"]
    actors.user("root", admin=True)
    limited = [actors.client(actors.token("root", **options)) for options in (
        {"actions": ["read"]}, {"actions": ["admin"]}, {"packages": ["*"]},
        {"actions": ["publish"], "packages": ["bobs-pkg"]})]
    before, tokens = state_counts(actors.server), _tokens(actors)
    for admin_limited in limited:
        assert_problem(admin_limited.delete(f"/api/v1/tokens/{bob_token_id}"), 403, SCOPE_CODE)
        assert _works(bob)
    _unchanged(actors, before, tokens)

    # A non-admin's unrestricted token: someone else's token does not exist for them.
    mallory = actors.client(actors.user("mallory"))
    assert_problem(mallory.delete(f"/api/v1/tokens/{bob_token_id}"), 404, "not_found")
    assert _works(bob)
    # The administrator's unrestricted token may revoke it, and it is audited.
    root = actors.client(actors.token("root"))
    assert root.delete(f"/api/v1/tokens/{bob_token_id}").status_code == 204
    assert_problem(bob.get("/api/v1/whoami"), 401, "invalid_token")
    events = root.get("/api/v1/audit-events", params={"action": "token:revoke"}).json()
    assert [(e["actor"], e["details"]["token_id"]) for e in events] == [("root", bob_token_id)]


def test_limited_administrator_tokens_cannot_create_users(actors: Actors) -> None:
    actors.user("root", admin=True)
    before = state_counts(actors.server)
    read_only = actors.client(actors.token("root", actions=["read"]))
    scoped = actors.client(actors.token("root", packages=["some-pkg"]))
    scoped_admin = actors.client(actors.token("root", actions=["admin"], packages=["x"]))
    for client in (read_only, scoped, scoped_admin):
        assert_problem(client.post("/api/v1/users", json={"name": "eve", "admin": True}), 403,
                       SCOPE_CODE)
        assert_problem(client.get("/api/v1/audit-events"), 403, SCOPE_CODE)
    assert state_counts(actors.server).audit_events == before.audit_events + 3  # 3 tokens
    # Not an administrator at all: plain forbidden.
    alice = actors.client(actors.user("alice"))
    assert_problem(alice.post("/api/v1/users", json={"name": "eve"}), 403, "forbidden")
    # The administrator's unrestricted token (or an admin-action token) may.
    root = actors.client(actors.token("root"))
    assert root.post("/api/v1/users", json={"name": "eve"}).status_code == 201
    admin_only = actors.client(actors.token("root", actions=["admin"]))
    assert admin_only.post("/api/v1/users", json={"name": "eve2"}).status_code == 201


def test_limited_tokens_cannot_change_organizations(actors: Actors) -> None:
    """A leaked read-only token of an org owner must not add the thief to the org (which
    would let them publish every @acme package)."""
    olga = actors.client(actors.user("olga"))
    assert olga.post("/api/v1/orgs", json={"name": "acme"}).status_code == 201
    mallory = actors.client(actors.user("mallory"))
    actors.user("member")
    assert olga.post("/api/v1/orgs/acme/members", json={"user": "member"}).status_code == 201
    memberships = _rows(actors, Membership)
    before, tokens = state_counts(actors.server), _tokens(actors)
    for options in ({"actions": ["read"]}, {"packages": ["@acme/*"]}, {"actions": ["publish"]}):
        limited = actors.client(actors.token("olga", **options))
        tokens += 1
        assert_problem(limited.post("/api/v1/orgs/acme/members",
                                    json={"user": "mallory", "role": "owner"}), 403, SCOPE_CODE)
        assert_problem(limited.delete("/api/v1/orgs/acme/members/member"), 403, SCOPE_CODE)
        assert_problem(limited.post("/api/v1/orgs", json={"name": f"new{len(options)}"}), 403,
                       SCOPE_CODE)
    assert _rows(actors, Membership) == memberships
    assert state_counts(actors.server).audit_events == before.audit_events + 3  # 3 tokens
    assert _tokens(actors) == tokens
    assert_problem(publish(mallory, "@acme/evil", "1.0.0"), 403, "forbidden")
    # An administrator's read-only token is no better.
    actors.user("root", admin=True)
    root_read = actors.client(actors.token("root", actions=["read"]))
    assert_problem(root_read.post("/api/v1/orgs/acme/members", json={"user": "mallory"}),
                   403, SCOPE_CODE)
    assert _rows(actors, Membership) == memberships


def test_limited_tokens_cannot_change_trust_configuration(actors: Actors) -> None:
    """A token that may publish widget (or is read-only) must not add a trusted publisher
    (a standing credential for someone's workflow) nor change a signature policy."""
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "widget", "1.0.0").status_code == 201
    assert alice.post("/api/v1/orgs", json={"name": "acme"}).status_code == 201
    publishers = _rows(actors, TrustedPublisher)
    before, tokens = state_counts(actors.server), _tokens(actors)
    evil = {"repository": "mallory/evil", "workflow": "release.yml"}
    for options in ({"packages": ["widget"], "actions": ["publish"]}, {"actions": ["read"]},
                    {"packages": ["other-pkg"]}):
        limited = actors.client(actors.token("alice", **options))
        tokens += 1
        for target in ("widget", "@acme", "brand-new-name"):
            assert_problem(limited.post("/api/v1/trusted-publishers",
                                        json={"target": target, **evil}), 403, SCOPE_CODE)
        for target in ("widget", "@acme"):
            assert_problem(limited.put("/api/v1/signature-policies",
                                       json={"target": target, "policy": "gpg"}), 403,
                           SCOPE_CODE)
    assert _rows(actors, TrustedPublisher) == publishers
    assert state_counts(actors.server).audit_events == before.audit_events + 3
    assert _tokens(actors) == tokens
    # Removing a publisher needs the same.
    added = alice.post("/api/v1/trusted-publishers", json={"target": "widget",
                                                           "repository": "alice/widget",
                                                           "workflow": "release.yml"})
    assert added.status_code == 201, added.text
    read_only = actors.client(actors.token("alice", actions=["read"]))
    assert_problem(read_only.delete(f"/api/v1/trusted-publishers/{added.json()['id']}"), 403,
                   SCOPE_CODE)
    assert _rows(actors, TrustedPublisher) == publishers + 1


def test_limited_tokens_cannot_manage_gpg_keys(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    keys = alice.get("/api/v1/gpg-keys").json()
    before, tokens = state_counts(actors.server), _tokens(actors)
    for options in ({"actions": ["read"]}, {"packages": ["widget"]}, {"actions": ["publish"]}):
        limited = actors.client(actors.token("alice", **options))
        tokens += 1
        assert_problem(limited.get("/api/v1/gpg-keys/challenge"), 403, SCOPE_CODE)
        assert_problem(limited.post("/api/v1/gpg-keys", json={
            "armored": "x", "challenge": "y", "signature": "z"}), 403, SCOPE_CODE)
        for key in keys:
            assert_problem(limited.delete(f"/api/v1/gpg-keys/{key['fingerprint']}"), 403,
                           SCOPE_CODE)
    assert state_counts(actors.server).audit_events == before.audit_events + 3
    assert alice.get("/api/v1/gpg-keys").json() == keys


def test_package_scoped_security_tokens_cannot_manage_advisories(actors: Actors) -> None:
    sec = actors.client(actors.user("sec", security=True))
    created = sec.post("/api/v1/advisories", json=generic_advisory("pkg"))
    assert created.status_code == 201, created.text
    advisory_id = created.json()["id"]
    scoped = actors.client(actors.token("sec", packages=["pkg"]))
    before = state_counts(actors.server)
    assert_problem(scoped.post("/api/v1/advisories", json=generic_advisory("other")), 403,
                   "forbidden")
    assert_problem(scoped.post(f"/api/v1/advisories/{advisory_id}/publish"), 403, "forbidden")
    assert state_counts(actors.server).audit_events == before.audit_events
    assert sec.get(f"/api/v1/advisories/{advisory_id}").json()["state"] == "draft"


def test_a_token_minted_for_a_workflow_changes_nothing(actors: Actors,
                                                       github_oidc_key: OidcSigningKey,
                                                       clock: ManualClock) -> None:
    alice = actors.client(actors.user("alice"))
    assert alice.post("/api/v1/trusted-publishers", json={
        "target": "widget", "repository": "acme/widget",
        "workflow": "release.yml"}).status_code == 201
    identity = GitHubIdentity(repository="acme/widget", workflow="release.yml",
                              ref="refs/tags/v1.0.0")
    oidc = make_github_oidc_token(identity, key=github_oidc_key, issued_at=clock.now(),
                                  audience=AUDIENCE)
    minted = actors.client().post("/api/v1/oidc/mint-token", json={"token": oidc})
    assert minted.status_code == 200, minted.text
    workflow = actors.client(minted.json()["token"])
    before, tokens = state_counts(actors.server), _tokens(actors)
    assert_problem(workflow.post("/api/v1/tokens", json={}), 403, SCOPE_CODE)
    assert_problem(workflow.get("/api/v1/tokens"), 403, SCOPE_CODE)
    assert_problem(workflow.get("/api/v1/gpg-keys/challenge"), 403, SCOPE_CODE)
    for response in (workflow.post("/api/v1/orgs", json={"name": "ci-org"}),
                     workflow.post("/api/v1/trusted-publishers", json={
                         "target": "widget", "repository": "mallory/evil",
                         "workflow": "release.yml"}),
                     workflow.put("/api/v1/signature-policies",
                                  json={"target": "widget", "policy": "gpg"})):
        assert response.status_code == 403, response.text
    _unchanged(actors, before, tokens)
