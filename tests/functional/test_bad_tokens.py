"""A presented token that is not valid (malformed, unknown, revoked, expired) gets 401
``invalid_token`` on every endpoint, public reads included: one rule, so a stale
``VOUCH_TOKEN`` is noticed (the client then retries public reads without it and says how to
fix it). No token at all reads public endpoints as before (issue 12)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest

from app.core.clock import ManualClock
from tests.conftest import Actors
from tests.functional.helpers import assert_problem, publish
from tests.support.sigstore_local import GitHubIdentity
from tests.support.sigstore_local.oidc import OidcSigningKey, make_github_oidc_token

Call = Callable[[httpx.Client], httpx.Response]

PUBLIC_READS: dict[str, Call] = {
    "package": lambda c: c.get("/api/v1/packages/public"),
    "version": lambda c: c.get("/api/v1/packages/public/versions/1.0.0"),
    "artifact": lambda c: c.get("/api/v1/packages/public/versions/1.0.0/artifact"),
    "artifact-head": lambda c: c.head("/api/v1/packages/public/versions/1.0.0/artifact"),
    "metadata": lambda c: c.post("/api/v1/metadata", json={"names": ["public"]}),
    "resolve": lambda c: c.get("/api/v1/packages/public/resolve", params={"range": "^1"}),
    "search": lambda c: c.get("/api/v1/search", params={"q": "public"}),
    "advisories": lambda c: c.get("/api/v1/advisories"),
    "osv": lambda c: c.post("/v1/query", json={"package": {"name": "public",
                                                          "ecosystem": "Vouch"},
                                               "version": "1.0.0"}),
}


def _bad_tokens(actors: Actors, clock: ManualClock) -> dict[str, str]:
    owner = actors.user("alice")
    assert publish(actors.client(owner), "public", "1.0.0", b"p").status_code == 201
    revoked = actors.token("alice")
    alice = actors.client(owner)
    newest = max(t["id"] for t in alice.get("/api/v1/tokens").json())
    assert alice.delete(f"/api/v1/tokens/{newest}").status_code == 204
    created = alice.post("/api/v1/tokens", json={"name": "short", "expires_in": "1h"})
    assert created.status_code == 201, created.text
    expiring = created.json()["token"]
    clock.advance(timedelta(hours=2))
    return {"malformed": "not-a-token", "unknown": "vouch_" + "A" * 40,
            "revoked": revoked, "expired": expiring}


@pytest.mark.parametrize("read", sorted(PUBLIC_READS))
def test_an_invalid_token_gets_401_on_public_reads(actors: Actors, clock: ManualClock,
                                                   read: str) -> None:
    bad = _bad_tokens(actors, clock)
    anonymous = PUBLIC_READS[read](actors.client())
    assert anonymous.status_code == 200, anonymous.text
    for kind, secret in bad.items():
        with httpx.Client(base_url=actors.server.url,
                          headers={"Authorization": f"Bearer {secret}"}) as client:
            response = PUBLIC_READS[read](client)
        assert response.status_code == 401, (kind, response.status_code, response.text[:200])
        if response.request.method != "HEAD":
            assert_problem(response, 401, "invalid_token")
            assert secret not in response.text  # never echoed


# -- the OIDC exchange: a token that is not a JWT is the caller's fault, whatever the JWKS ----
UNREACHABLE_JWKS = {"oidc_jwks_url": "https://127.0.0.1:9/jwks.json",  # nothing listens
                    "oidc_audience": "vouch-test"}


@pytest.mark.parametrize("settings_overrides", [UNREACHABLE_JWKS], indirect=True)
@pytest.mark.parametrize("garbage", [
    "not-a-jwt", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln",   # claims are not JSON
    "eyJhbGciOiJIUzI1NiJ9.e30.c2ln",                                  # HS256: never accepted
    "eyJhbGciOiJub25lIn0.e30.",                                        # alg none
])
def test_an_unparseable_oidc_token_is_401_even_when_the_jwks_is_unreachable(
        actors: Actors, garbage: str) -> None:
    response = actors.client().post("/api/v1/oidc/mint-token", json={"token": garbage})
    body = assert_problem(response, 401, "invalid_token")
    assert garbage not in body["detail"]


@pytest.mark.parametrize("settings_overrides", [UNREACHABLE_JWKS], indirect=True)
def test_a_well_formed_oidc_token_that_cannot_be_checked_is_503(
        actors: Actors, github_oidc_key: OidcSigningKey, clock: ManualClock) -> None:
    token = make_github_oidc_token(
        GitHubIdentity(repository="acme/widget", workflow="release.yml",
                       ref="refs/tags/v1.0.0"),
        audience="vouch-test", key=github_oidc_key, issued_at=clock.now())
    response = actors.client().post("/api/v1/oidc/mint-token", json={"token": token})
    assert_problem(response, 503, "oidc_jwks_unavailable")
