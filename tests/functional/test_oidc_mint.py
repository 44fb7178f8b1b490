"""Trusted publishing over HTTP: GitHub Actions OIDC tokens (signed by a test JWKS file)
exchanged at POST /api/v1/oidc/mint-token for 15-minute publish tokens."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import func, select

from app.core.clock import ManualClock
from app.core.db import session_scope
from app.core.models import ApiToken, AuditEvent
from tests.conftest import Actors
from tests.functional.helpers import assert_problem, publish
from tests.support.sigstore_local import GitHubIdentity
from tests.support.sigstore_local.oidc import OidcSigningKey, make_github_oidc_token

AUDIENCE = "vouch-test"
IDENT = GitHubIdentity(repository="Acme/Widget", workflow="release.yml",
                       ref="refs/tags/v1.0.0")


@pytest.fixture
def settings_overrides(github_jwks_path: Path) -> dict[str, object]:
    return {"oidc_jwks_file": github_jwks_path, "oidc_audience": AUDIENCE}


@pytest.fixture
def alice(actors: Actors) -> httpx.Client:
    """Registers a trusted publisher for the (not yet existing) package `widget`."""
    client = actors.client(actors.user("alice"))
    response = client.post("/api/v1/trusted-publishers", json={
        "target": "widget", "repository": "acme/widget", "workflow": "release.yml"})
    assert response.status_code == 201, response.text
    return client


def _token(key: OidcSigningKey, clock: ManualClock, ident: GitHubIdentity = IDENT,
           **options: Any) -> str:
    options.setdefault("issued_at", clock.now())
    options.setdefault("audience", AUDIENCE)
    return make_github_oidc_token(ident, key=key, **options)


def _mint(actors: Actors, token: str) -> httpx.Response:
    with actors.client() as anonymous:
        return anonymous.post("/api/v1/oidc/mint-token", json={"token": token})


def _minted_tokens(actors: Actors) -> int:
    with session_scope(actors.server.registry.engine) as session:
        count: int = session.exec(select(func.count()).select_from(ApiToken)
                                  .where(ApiToken.trusted_publisher_id.isnot(None))  # type: ignore[union-attr]
                                  ).one()
    return count


def test_audience_endpoint(actors: Actors) -> None:
    response = actors.client().get("/api/v1/oidc/audience")
    assert response.status_code == 200
    assert response.json() == {"audience": AUDIENCE}


def test_a_matching_token_mints_a_15_minute_publish_token(
        actors: Actors, alice: httpx.Client, github_oidc_key: OidcSigningKey,
        clock: ManualClock) -> None:
    response = _mint(actors, _token(github_oidc_key, clock))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert body["token"].startswith("vouch_")
    assert body["expires"] == int((clock.now() + timedelta(minutes=15)).timestamp())
    assert body["packages"] == ["widget"]
    with session_scope(actors.server.registry.engine) as session:
        event = session.exec(select(AuditEvent)
                             .where(AuditEvent.action == "token:mint-oidc")).one()
    assert event.actor == "github:acme/widget"
    assert event.details["workflow_ref"] == IDENT.workflow_ref


def test_the_minted_token_publishes_only_its_packages_and_expires(
        actors: Actors, alice: httpx.Client, github_oidc_key: OidcSigningKey,
        clock: ManualClock) -> None:
    secret = _mint(actors, _token(github_oidc_key, clock)).json()["token"]
    ci = actors.client(secret)
    # The first version creates the package; the publisher's registrant becomes its owner.
    assert publish(ci, "widget", "1.0.0").status_code == 201
    assert alice.put("/api/v1/packages/widget/versions/1.0.0/deprecation",
                     json={"message": "owner can manage it"}).status_code == 200
    assert publish(ci, "widget", "1.1.0").status_code == 201
    assert_problem(publish(ci, "gadget", "1.0.0"), 403, "forbidden")
    assert_problem(ci.post("/api/v1/trusted-publishers", json={
        "target": "widget", "repository": "evil/x", "workflow": "r.yml"}), 403, "forbidden")
    assert_problem(ci.delete("/api/v1/packages/widget/versions/1.1.0"), 403, "forbidden")
    clock.advance(timedelta(minutes=14, seconds=59))
    assert publish(ci, "widget", "1.2.0").status_code == 201
    clock.advance(timedelta(seconds=1))
    assert_problem(publish(ci, "widget", "1.3.0"), 401, "invalid_token")


def test_a_minted_token_cannot_take_over_a_package_its_publisher_does_not_cover(
        actors: Actors, alice: httpx.Client, github_oidc_key: OidcSigningKey,
        clock: ManualClock) -> None:
    bob = actors.client(actors.user("bob"))
    assert publish(bob, "gadget", "1.0.0").status_code == 201
    secret = _mint(actors, _token(github_oidc_key, clock)).json()["token"]
    assert_problem(publish(actors.client(secret), "gadget", "2.0.0"), 403, "forbidden")


def test_a_scope_publisher_covers_every_package_of_the_scope(
        actors: Actors, github_oidc_key: OidcSigningKey, clock: ManualClock) -> None:
    olga = actors.client(actors.user("olga"))
    assert olga.post("/api/v1/orgs", json={"name": "acme"}).status_code == 201
    assert olga.post("/api/v1/trusted-publishers", json={
        "target": "@acme", "repository": "acme/monorepo", "workflow": "publish.yml",
        "environment": "release", "ref_pattern": "refs/tags/v*"}).status_code == 201
    ident = GitHubIdentity(repository="acme/monorepo", workflow="publish.yml",
                           environment="release")
    response = _mint(actors, _token(github_oidc_key, clock, ident))
    assert response.status_code == 200, response.text
    assert response.json()["packages"] == ["@acme/*"]
    ci = actors.client(response.json()["token"])
    assert publish(ci, "@acme/new-tool", "0.1.0").status_code == 201
    assert_problem(publish(ci, "@other/tool", "0.1.0"), 403, "forbidden")


def test_a_failed_exchange_does_not_burn_the_jti(
        actors: Actors, github_oidc_key: OidcSigningKey, clock: ManualClock) -> None:
    token = _token(github_oidc_key, clock)
    assert_problem(_mint(actors, token), 403, "invalid_publisher")
    carol = actors.client(actors.user("carol"))
    assert carol.post("/api/v1/trusted-publishers", json={
        "target": "widget", "repository": "acme/widget",
        "workflow": "release.yml"}).status_code == 201
    assert _mint(actors, token).status_code == 200


def test_reused_token_is_refused(actors: Actors, alice: httpx.Client,
                                 github_oidc_key: OidcSigningKey, clock: ManualClock) -> None:
    token = _token(github_oidc_key, clock)
    assert _mint(actors, token).status_code == 200
    assert_problem(_mint(actors, token), 401, "invalid_reuse_token")
    # A fresh token (new jti) for the same run is fine, as GitHub lets a job ask again.
    assert _mint(actors, _token(github_oidc_key, clock)).status_code == 200
    assert _minted_tokens(actors) == 2


@pytest.mark.parametrize(("case", "status", "code"), [
    ("wrong_audience", 401, "invalid_token"),
    ("expired", 401, "invalid_token"),
    ("issued_in_the_future", 401, "invalid_token"),
    ("bad_signature", 401, "invalid_token"),
    ("wrong_issuer", 401, "invalid_token"),
    ("missing_claim", 401, "invalid_token"),
    ("not_a_jwt", 401, "invalid_token"),
    ("unknown_repository", 403, "invalid_publisher"),
    ("wrong_workflow", 403, "invalid_publisher"),
    ("reusable_workflow_of_another_file", 403, "invalid_publisher"),
    ("pull_request_target", 403, "invalid_publisher"),
])
def test_bad_tokens_are_refused_with_their_code(
        actors: Actors, alice: httpx.Client, github_oidc_key: OidcSigningKey,
        clock: ManualClock, case: str, status: int, code: str) -> None:
    now = clock.now()
    tokens: dict[str, Callable[[], str]] = {
        "wrong_audience": lambda: _token(github_oidc_key, clock, audience="pypi"),
        "expired": lambda: _token(github_oidc_key, clock, issued_at=now - timedelta(hours=1)),
        "issued_in_the_future": lambda: _token(github_oidc_key, clock,
                                               issued_at=now + timedelta(hours=1)),
        "bad_signature": lambda: _token(OidcSigningKey.generate(kid=github_oidc_key.kid),
                                        clock),
        "wrong_issuer": lambda: _token(github_oidc_key, clock,
                                       IDENT.with_(issuer="https://evil.example")),
        "missing_claim": lambda: _token(github_oidc_key, clock,
                                        overrides={"job_workflow_ref": None}),
        "not_a_jwt": lambda: "not.a.jwt",
        "unknown_repository": lambda: _token(github_oidc_key, clock,
                                             IDENT.with_(repository="evil/widget")),
        "wrong_workflow": lambda: _token(github_oidc_key, clock,
                                         IDENT.with_(workflow="other.yml")),
        "reusable_workflow_of_another_file": lambda: _token(
            github_oidc_key, clock, IDENT.with_(
                job_workflow_ref="acme/widget/.github/workflows/evil.yml@refs/heads/main")),
        "pull_request_target": lambda: _token(github_oidc_key, clock,
                                              IDENT.with_(trigger="pull_request_target")),
    }
    body = assert_problem(_mint(actors, tokens[case]()), status, code)
    assert body["detail"]
    assert _minted_tokens(actors) == 0


@pytest.mark.parametrize(("token_environment", "ok"), [
    ("release", True), ("staging", False), (None, False)])
def test_a_publisher_with_an_environment_requires_it(
        actors: Actors, github_oidc_key: OidcSigningKey, clock: ManualClock,
        token_environment: str | None, ok: bool) -> None:
    dave = actors.client(actors.user("dave"))
    assert dave.post("/api/v1/trusted-publishers", json={
        "target": "widget", "repository": "acme/widget", "workflow": "release.yml",
        "environment": "release"}).status_code == 201
    response = _mint(actors, _token(github_oidc_key, clock,
                                    IDENT.with_(environment=token_environment)))
    if ok:
        assert response.status_code == 200, response.text
    else:
        body = assert_problem(response, 403, "invalid_publisher")
        assert "environment" in body["detail"]


def test_a_ref_pattern_is_enforced(actors: Actors, github_oidc_key: OidcSigningKey,
                                   clock: ManualClock) -> None:
    erin = actors.client(actors.user("erin"))
    assert erin.post("/api/v1/trusted-publishers", json={
        "target": "widget", "repository": "acme/widget", "workflow": "release.yml",
        "ref_pattern": "refs/tags/v*"}).status_code == 201
    assert_problem(_mint(actors, _token(github_oidc_key, clock,
                                        IDENT.with_(ref="refs/heads/main"))),
                   403, "invalid_publisher")
    assert _mint(actors, _token(github_oidc_key, clock)).status_code == 200


def test_malformed_requests(actors: Actors) -> None:
    with actors.client() as anonymous:
        assert_problem(anonymous.post("/api/v1/oidc/mint-token", json={}), 422,
                       "validation_error")
        assert_problem(anonymous.post("/api/v1/oidc/mint-token", json={"token": ""}), 422,
                       "validation_error")
        assert_problem(anonymous.post("/api/v1/oidc/mint-token",
                                      json={"token": "x" * 20_000}), 422, "validation_error")


def test_removing_the_publisher_revokes_its_minted_tokens(
        actors: Actors, alice: httpx.Client, github_oidc_key: OidcSigningKey,
        clock: ManualClock) -> None:
    secret = _mint(actors, _token(github_oidc_key, clock)).json()["token"]
    ci = actors.client(secret)
    assert publish(ci, "widget", "1.0.0").status_code == 201
    publisher_id = alice.get("/api/v1/trusted-publishers",
                             params={"target": "widget"}).json()[0]["id"]
    assert alice.delete(f"/api/v1/trusted-publishers/{publisher_id}").status_code == 204
    body = assert_problem(publish(ci, "widget", "1.0.1"), 401, "invalid_token")
    assert "revoked" in body["detail"]
    assert _minted_tokens(actors) == 0


def test_a_recreated_repository_cannot_publish(actors: Actors, alice: httpx.Client,
                                               github_oidc_key: OidcSigningKey,
                                               clock: ManualClock) -> None:
    """The first exchange binds the owner's numeric id; a repository deleted and re-created
    under the same name by another account (a new owner id) is refused afterwards."""
    assert _mint(actors, _token(github_oidc_key, clock)).status_code == 200
    listed = alice.get("/api/v1/trusted-publishers", params={"target": "widget"}).json()
    assert listed[0]["repository_owner_id"] == IDENT.resolved_owner_id
    usurper = IDENT.with_(owner_id="999999999")
    body = assert_problem(_mint(actors, _token(github_oidc_key, clock, usurper)), 403,
                          "invalid_publisher")
    assert "owner id changed" in body["detail"]
    assert _mint(actors, _token(github_oidc_key, clock)).status_code == 200


def test_an_owner_id_given_at_registration_is_enforced(actors: Actors,
                                                       github_oidc_key: OidcSigningKey,
                                                       clock: ManualClock) -> None:
    bob = actors.client(actors.user("bob"))
    assert bob.post("/api/v1/trusted-publishers", json={
        "target": "gadget", "repository": "acme/widget", "workflow": "release.yml",
        "repository_owner_id": "123"}).status_code == 201
    body = _mint(actors, _token(github_oidc_key, clock, IDENT.with_(owner_id="456"))).json()
    assert body["code"] == "invalid_publisher"
    assert_problem(bob.post("/api/v1/trusted-publishers", json={
        "target": "gadget", "repository": "acme/widget", "workflow": "release.yml",
        "repository_owner_id": "not-a-number"}), 422, "validation_error")
