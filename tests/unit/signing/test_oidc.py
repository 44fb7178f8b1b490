"""GitHub Actions OIDC token verification against a test JWKS."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from signing.errors import IdentityMismatch, OidcTokenInvalid
from signing.oidc import GITHUB_ISSUER, verify_github_oidc
from signing.policy import GitHubPublisher

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def keys():
    signer = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    intruder = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(signer.public_key()))
    jwk.update(kid="k1", alg="RS256", use="sig")
    return signer, intruder, {"keys": [jwk]}


def claims(**overrides):
    base = {
        "iss": GITHUB_ISSUER, "aud": "vouch", "sub": "repo:octo/widgets:environment:release",
        "iat": int(NOW.timestamp()) - 10, "nbf": int(NOW.timestamp()) - 10,
        "exp": int(NOW.timestamp()) + 300, "jti": "a1b2c3",
        "repository": "octo/widgets", "repository_owner": "octo", "repository_owner_id": "42",
        "repository_id": "7",
        "workflow_ref": "octo/widgets/.github/workflows/release.yml@refs/tags/v1.0.0",
        "job_workflow_ref": "octo/widgets/.github/workflows/release.yml@refs/tags/v1.0.0",
        "ref": "refs/tags/v1.0.0", "sha": "d" * 40, "environment": "release",
        "event_name": "push",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def token(key, body, kid="k1", alg="RS256"):
    return jwt.encode(body, key, algorithm=alg, headers={"kid": kid})


def test_valid_token(keys):
    signer, _, jwks = keys
    got = verify_github_oidc(token(signer, claims()), jwks=jwks, audience="vouch", now=NOW)
    assert got.repository == "octo/widgets"
    assert got.repository_owner_id == "42"
    assert got.environment == "release"
    assert got.ref == "refs/tags/v1.0.0"
    assert got.jti == "a1b2c3"
    assert got.expires_at == NOW + timedelta(seconds=300)


@pytest.mark.parametrize(("body", "reason"), [
    (claims(aud="someone-else"), "(?i)audience"),
    (claims(iss="https://evil.example"), "(?i)issuer"),
    (claims(exp=int(NOW.timestamp()) - 3600, iat=int(NOW.timestamp()) - 7200,
            nbf=int(NOW.timestamp()) - 7200), "expired"),
    (claims(nbf=int(NOW.timestamp()) + 3600), "not valid yet"),
    (claims(iat=int(NOW.timestamp()) + 3600, nbf=None), "future"),
    (claims(jti=None), "jti"),
    (claims(repository=None), "repository"),
])
def test_refused_claims(keys, body, reason):
    signer, _, jwks = keys
    with pytest.raises(OidcTokenInvalid, match=reason) as info:
        verify_github_oidc(token(signer, body), jwks=jwks, audience="vouch", now=NOW)
    assert info.value.code == "invalid_token"


def test_bad_signature(keys):
    _, intruder, jwks = keys
    with pytest.raises(OidcTokenInvalid, match="Signature"):
        verify_github_oidc(token(intruder, claims()), jwks=jwks, audience="vouch", now=NOW)


def test_unknown_kid(keys):
    signer, _, jwks = keys
    with pytest.raises(OidcTokenInvalid, match="kid"):
        verify_github_oidc(token(signer, claims(), kid="other"), jwks=jwks, audience="vouch",
                           now=NOW)


def test_hs256_confusion_refused(keys):
    _, _, jwks = keys
    forged = jwt.encode(claims(), "s" * 48, algorithm="HS256", headers={"kid": "k1"})
    with pytest.raises(OidcTokenInvalid, match="RS256"):
        verify_github_oidc(forged, jwks=jwks, audience="vouch", now=NOW)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "x" * 20000])
def test_garbage_tokens(keys, garbage):
    with pytest.raises(OidcTokenInvalid):
        verify_github_oidc(garbage, jwks=keys[2], audience="vouch", now=NOW)


def test_empty_jwks_and_audience(keys):
    signer, _, jwks = keys
    with pytest.raises(OidcTokenInvalid):
        verify_github_oidc(token(signer, claims()), jwks={"keys": []}, audience="vouch", now=NOW)
    with pytest.raises(OidcTokenInvalid):
        verify_github_oidc(token(signer, claims()), jwks=jwks, audience="", now=NOW)


def test_trusted_publisher_matches_oidc_claims(keys):
    signer, _, jwks = keys
    got = verify_github_oidc(token(signer, claims()), jwks=jwks, audience="vouch", now=NOW)
    GitHubPublisher("octo/widgets", "release.yml", environment="release",
                    ref_pattern="refs/tags/v*").verify_oidc_claims(got)
    for publisher in (GitHubPublisher("octo/gadgets", "release.yml"),
                      GitHubPublisher("octo/widgets", "ci.yml"),
                      GitHubPublisher("octo/widgets", "release.yml", environment="prod"),
                      GitHubPublisher("octo/widgets", "release.yml", ref_pattern="refs/heads/*")):
        with pytest.raises(IdentityMismatch):
            publisher.verify_oidc_claims(got)
