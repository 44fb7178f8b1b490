"""Trusted publishing at PyPI's paths (/_/oidc/audience, /_/oidc/mint-token), as
pypa/gh-action-pypi-publish and `uv publish --trusted-publishing always` call them, over HTTP
with the suite's test OIDC issuer (an RS256 JWKS file). The same exchange as /api/v1/oidc:
same publisher match, lifetime, single use and audit event; PyPI's answer shapes."""

from __future__ import annotations

from datetime import timedelta
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

AUDIENCE = "vouch-pypi-test"
IDENT = GitHubIdentity(repository="acme/widget", workflow="release.yml",
                       ref="refs/tags/v1.0.0")


@pytest.fixture
def settings_overrides(github_jwks_path: Any) -> dict[str, object]:
    return {"oidc_jwks_file": github_jwks_path, "oidc_audience": AUDIENCE}


@pytest.fixture
def alice(actors: Actors) -> httpx.Client:
    client = actors.client(actors.user("alice"))
    response = client.post("/api/v1/trusted-publishers", json={
        "target": "widget", "repository": "acme/widget", "workflow": "release.yml"})
    assert response.status_code == 201, response.text
    return client


def _jwt(key: OidcSigningKey, clock: ManualClock, ident: GitHubIdentity = IDENT,
         **options: Any) -> str:
    return make_github_oidc_token(ident, key=key, issued_at=clock.now(), audience=AUDIENCE,
                                  **options)


def _mint(actors: Actors, body: Any, path: str = "/_/oidc/mint-token") -> httpx.Response:
    with actors.client() as anonymous:
        if isinstance(body, bytes):
            return anonymous.post(path, content=body,
                                  headers={"Content-Type": "application/json"})
        return anonymous.post(path, json=body)


def _minted(actors: Actors) -> int:
    with session_scope(actors.server.registry.engine) as session:
        count: int = session.exec(select(func.count()).select_from(ApiToken).where(
            ApiToken.trusted_publisher_id.isnot(None))).one()  # type: ignore[union-attr]
    return count


def _pypi_error(response: httpx.Response, status: int, code: str, pypi_code: str) -> None:
    """problem+json with our code, plus PyPI's message/errors the publishing tools print."""
    body = assert_problem(response, status, code)
    assert body["message"] == "Token request failed"
    assert body["errors"][0]["code"] == pypi_code
    assert body["errors"][0]["description"]


def test_audience_is_the_configured_one(actors: Actors) -> None:
    response = actors.client().get("/_/oidc/audience")
    assert response.status_code == 200
    assert response.json() == {"audience": AUDIENCE}


@pytest.mark.parametrize("path", ["/_/oidc/mint-token", "/_/oidc/github/mint-token"])
def test_mint_token_answers_pypis_shape_and_the_token_publishes(
        actors: Actors, alice: httpx.Client, github_oidc_key: OidcSigningKey,
        clock: ManualClock, path: str) -> None:
    response = _mint(actors, {"token": _jwt(github_oidc_key, clock)}, path)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"success", "token", "expires"}
    assert body["success"] is True and body["token"].startswith("vouch_")
    # The same lifetime as the native exchange (VOUCH_OIDC_TOKEN_LIFETIME, 15 minutes).
    assert body["expires"] == int((clock.now() + timedelta(minutes=15)).timestamp())
    with session_scope(actors.server.registry.engine) as session:
        event = session.exec(select(AuditEvent)
                             .where(AuditEvent.action == "token:mint-oidc")).one()
    assert event.actor == "github:acme/widget"
    ci = actors.client(body["token"])
    assert publish(ci, "widget", "1.0.0").status_code == 201
    assert_problem(publish(ci, "gadget", "1.0.0"), 403, "forbidden")


def test_a_token_is_exchanged_once(actors: Actors, alice: httpx.Client,
                                   github_oidc_key: OidcSigningKey, clock: ManualClock) -> None:
    jwt = _jwt(github_oidc_key, clock)
    assert _mint(actors, {"token": jwt}).status_code == 200
    _pypi_error(_mint(actors, {"token": jwt}), 401, "invalid_reuse_token",
                "invalid-reuse-token")
    # ... whichever path it is presented at: all three are the one exchange.
    _pypi_error(_mint(actors, {"token": jwt}, "/_/oidc/github/mint-token"), 401,
                "invalid_reuse_token", "invalid-reuse-token")
    assert_problem(_mint(actors, {"token": jwt}, "/api/v1/oidc/mint-token"), 401,
                   "invalid_reuse_token")
    assert _minted(actors) == 1


def test_bad_tokens_are_refused_and_mint_nothing(
        actors: Actors, alice: httpx.Client, github_oidc_key: OidcSigningKey,
        clock: ManualClock) -> None:
    _pypi_error(_mint(actors, {"token": "not-a-jwt"}), 401, "invalid_token", "invalid-token")
    expired = _jwt(github_oidc_key, clock, lifetime=timedelta(minutes=5))
    clock.advance(timedelta(minutes=10))
    _pypi_error(_mint(actors, {"token": expired}), 401, "invalid_token", "invalid-token")
    other_audience = make_github_oidc_token(IDENT, key=github_oidc_key, audience="pypi",
                                            issued_at=clock.now())
    _pypi_error(_mint(actors, {"token": other_audience}), 401, "invalid_token",
                "invalid-token")
    forged = OidcSigningKey.generate(kid="vouch-test-key")
    _pypi_error(_mint(actors, {"token": _jwt(forged, clock)}), 401, "invalid_token",
                "invalid-token")
    assert _minted(actors) == 0


def test_no_matching_publisher_is_invalid_publisher(
        actors: Actors, alice: httpx.Client, github_oidc_key: OidcSigningKey,
        clock: ManualClock) -> None:
    for ident in (IDENT.with_(repository="evil/widget"), IDENT.with_(workflow="ci.yml"),
                  IDENT.with_(trigger="pull_request_target")):
        response = _mint(actors, {"token": _jwt(github_oidc_key, clock, ident)})
        _pypi_error(response, 403, "invalid_publisher", "invalid-publisher")
    assert _minted(actors) == 0
    with session_scope(actors.server.registry.engine) as session:
        assert session.exec(select(AuditEvent).where(
            AuditEvent.action == "token:mint-oidc")).first() is None


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"token": ""}', b'{"jwt": "x"}',
                                  b'{"token": "x", "extra": 1}', b'{"token": 5}'],
                         ids=["not-json", "array", "empty", "wrong-key", "extra-key",
                              "not-text"])
def test_a_payload_that_is_not_a_token_request_is_invalid_payload(actors: Actors,
                                                                  body: bytes) -> None:
    _pypi_error(_mint(actors, body), 422, "validation_error", "invalid-payload")
    assert _minted(actors) == 0


def test_burn_token_revokes_a_minted_token_once(actors: Actors, alice: httpx.Client,
                                               github_oidc_key: OidcSigningKey,
                                               clock: ManualClock) -> None:
    """uv POSTs the minted token to /_/oidc/burn-token when its upload is done."""
    secret = _mint(actors, {"token": _jwt(github_oidc_key, clock)}).json()["token"]
    burned = _mint(actors, {"token": secret}, "/_/oidc/burn-token")
    assert burned.status_code == 202, burned.text
    assert burned.json() == {"success": True}
    assert_problem(publish(actors.client(secret), "widget", "1.0.0"), 401, "invalid_token")
    with session_scope(actors.server.registry.engine) as session:
        row = session.exec(select(ApiToken).where(
            ApiToken.trusted_publisher_id.isnot(None))).one()  # type: ignore[union-attr]
        event = session.exec(select(AuditEvent)
                             .where(AuditEvent.action == "token:burn-oidc")).one()
    assert row.revoked_at is not None
    assert event.details["token_id"] == row.id
    _pypi_error(_mint(actors, {"token": secret}, "/_/oidc/burn-token"), 401, "invalid_token",
                "invalid-token")


def test_burn_token_refuses_anything_but_a_minted_token(actors: Actors,
                                                        alice: httpx.Client) -> None:
    own = actors.user("bob")
    _pypi_error(_mint(actors, {"token": own}, "/_/oidc/burn-token"), 401, "invalid_token",
                "invalid-token")
    _pypi_error(_mint(actors, {"token": "vouch_" + "x" * 40}, "/_/oidc/burn-token"), 401,
                "invalid_token", "invalid-token")
    _pypi_error(_mint(actors, b'{"jwt": 1}', "/_/oidc/burn-token"), 422, "validation_error",
                "invalid-payload")
    assert publish(actors.client(own), "gadget", "1.0.0").status_code == 201  # still valid
    with session_scope(actors.server.registry.engine) as session:
        assert session.exec(select(AuditEvent).where(
            AuditEvent.action == "token:burn-oidc")).first() is None
