"""npm's trusted-publishing exchange (POST /npm/-/npm/v1/oidc/token/exchange/package/{name})
over HTTP and with the real npm 11 (``GITHUB_ACTIONS=true`` and ``NPM_ID_TOKEN``, as npm runs
it in GitHub Actions), against the registry's trusted publishers. Tokens are signed by a test
JWKS file (tests/support/sigstore_local/oidc.py)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from sqlmodel import func, select

from app.core.clock import ManualClock
from app.core.db import session_scope
from app.core.models import ApiToken, UsedOidcToken
from tests.conftest import Actors, state_counts
from tests.functional.helpers import assert_problem
from tests.functional.npm_support import NpmCli
from tests.functional.test_npm_client import make_package, npm, npm11  # noqa: F401
from tests.support.server import RunningServer
from tests.support.sigstore_local import GitHubIdentity
from tests.support.sigstore_local.oidc import OidcSigningKey, make_github_oidc_token

AUDIENCE = "npm:127.0.0.1"
IDENT = GitHubIdentity(repository="acme/widget", workflow="release.yml", ref="refs/tags/v1.0.0")
EXCHANGE = "/-/npm/v1/oidc/token/exchange/package/"  # where npm 11 posts it


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest,
                       github_jwks_path: Path) -> dict[str, object]:
    default = {"oidc_jwks_file": github_jwks_path, "npm_oidc_audience": AUDIENCE}
    return dict(getattr(request, "param", default))


@pytest.fixture
def alice(actors: Actors) -> httpx.Client:
    client = actors.client(actors.user("alice"))
    response = client.post("/api/v1/trusted-publishers", json={
        "target": "left-pad", "repository": "acme/widget", "workflow": "release.yml"})
    assert response.status_code == 201, response.text
    return client


def _token(key: OidcSigningKey, clock: ManualClock, audience: str = AUDIENCE) -> str:
    return make_github_oidc_token(IDENT, key=key, audience=audience, issued_at=clock.now())


def _minted(server: RunningServer) -> int:
    with session_scope(server.registry.engine) as session:
        return session.exec(select(func.count()).select_from(ApiToken).where(
            ApiToken.trusted_publisher_id.isnot(None))).one()  # type: ignore[union-attr]


def test_exchange_mints_a_publish_token_for_the_package(
        actors: Actors, alice: httpx.Client, github_oidc_key: OidcSigningKey,
        clock: ManualClock, server: RunningServer) -> None:
    token = _token(github_oidc_key, clock)
    response = actors.client().post(EXCHANGE + "left-pad",
                                    headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.text
    minted = response.json()["token"]
    assert minted.startswith("vouch_")
    assert actors.client(minted).get("/npm/-/whoami").status_code == 200
    # single use
    again = actors.client().post(EXCHANGE + "left-pad",
                                 headers={"Authorization": f"Bearer {token}"})
    body = assert_problem(again, 401, "invalid_reuse_token")
    assert body["message"] == body["detail"]


@pytest.mark.parametrize("case", ["wrong_audience", "other_package", "no_token", "garbage"])
def test_exchange_refusals(case: str, actors: Actors, alice: httpx.Client,
                           github_oidc_key: OidcSigningKey, clock: ManualClock,
                           server: RunningServer) -> None:
    before = _minted(server)
    headers = {"Authorization": f"Bearer {_token(github_oidc_key, clock)}"}
    package = "left-pad"
    expected = (401, "invalid_token")
    if case == "wrong_audience":  # a token for another registry (or for Vouch's own API)
        headers = {"Authorization": f"Bearer {_token(github_oidc_key, clock, 'vouch')}"}
    elif case == "other_package":
        package, expected = "right-pad", (403, "invalid_publisher")
    elif case == "no_token":
        headers, expected = {}, (401, "not_authenticated")
    else:
        headers = {"Authorization": "Bearer not-a-jwt"}
    counts = state_counts(server)
    response = actors.client().post(EXCHANGE + package, headers=headers)
    assert_problem(response, *expected)
    # nothing left: no minted token (not even one revoked), no consumed jti, no event
    assert _minted(server) == before and state_counts(server) == counts
    with session_scope(server.registry.engine) as session:
        assert session.exec(select(func.count()).select_from(UsedOidcToken)).one() == 0
    if case == "other_package":  # the same OIDC token still works for the package it covers
        ok = actors.client().post(EXCHANGE + "left-pad", headers=headers)
        assert ok.status_code == 201, ok.text


def test_the_exchange_under_npm_too(actors: Actors, alice: httpx.Client,
                                    github_oidc_key: OidcSigningKey, clock: ManualClock) -> None:
    response = actors.client().post(
        "/npm" + EXCHANGE + "left-pad",
        headers={"Authorization": f"Bearer {_token(github_oidc_key, clock)}"})
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("settings_overrides", [{}], indirect=True)
def test_exchange_is_off_without_an_audience(actors: Actors) -> None:
    response = actors.client().post(EXCHANGE + "left-pad",
                                    headers={"Authorization": "Bearer x.y.z"})
    assert_problem(response, 404, "not_found")


def test_real_npm_exchanges_its_oidc_token(npm: NpmCli, actors: Actors,  # noqa: F811
                                          alice: httpx.Client, github_oidc_key: OidcSigningKey,
                                          clock: ManualClock, server: RunningServer,
                                          tmp_path: Path) -> None:
    """npm 11 in "GitHub Actions" exchanges NPM_ID_TOKEN and publishes with the minted
    token. Without a signature (provenance needs Sigstore online, and a minted token has no
    user to stage a GPG signature) the default policy refuses the publish: the refusal is the
    policy's (400 signature_required), not 401, so the exchanged token authenticated it."""
    directory = make_package(tmp_path, "left-pad", "1.0.0")
    before = state_counts(server)
    env_token = _token(github_oidc_key, clock)
    done = npm.run(["publish", "--loglevel", "verbose"], registry=f"{server.url}/npm/",
                   cwd=directory, env={"GITHUB_ACTIONS": "true", "NPM_ID_TOKEN": env_token,
                                       "NPM_CONFIG_PROVENANCE": "false"})
    assert done.returncode != 0
    assert "signature" in done.stderr.lower() and "ENEEDAUTH" not in done.stderr, done.stderr
    assert _minted(server) == 1
    assert state_counts(server).versions == before.versions
    assert json.loads(actors.client().get("/npm/left-pad").text)["code"] == "package_not_found"
