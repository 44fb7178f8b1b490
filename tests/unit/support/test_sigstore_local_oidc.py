"""The test OIDC issuer mints GitHub Actions-shaped RS256 tokens that verify with its JWKS."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from tests.support.sigstore_local import (
    GitHubIdentity,
    OidcSigningKey,
    jwks,
    make_github_oidc_token,
)


def _decode(token: str, jwks_doc: dict, audience: str = "vouch") -> dict:  # type: ignore[type-arg]
    keys = jwt.PyJWKSet.from_dict(jwks_doc)
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in keys.keys if k.key_id == kid)
    return jwt.decode(token, key.key, algorithms=["RS256"], audience=audience,  # type: ignore[no-any-return]
                      issuer="https://token.actions.githubusercontent.com")


def test_token_verifies_with_the_jwks_file_and_has_github_claims(
    github_oidc_key: OidcSigningKey, github_jwks_path: Path
) -> None:
    ident = GitHubIdentity(repository="acme/widget", workflow="release.yml",
                           ref="refs/tags/v1.2.3", environment="pypi")
    token = make_github_oidc_token(ident, audience="vouch", key=github_oidc_key)
    claims = _decode(token, json.loads(github_jwks_path.read_text()))
    assert claims["sub"] == "repo:acme/widget:environment:pypi"
    assert claims["repository"] == "acme/widget"
    assert claims["repository_owner"] == "acme"
    assert claims["workflow_ref"] == "acme/widget/.github/workflows/release.yml@refs/tags/v1.2.3"
    assert claims["job_workflow_ref"] == claims["workflow_ref"]
    assert claims["ref"] == "refs/tags/v1.2.3" and claims["ref_type"] == "tag"
    assert claims["environment"] == "pypi"
    assert claims["exp"] - claims["iat"] == 300
    assert claims["jti"]


def test_each_token_has_a_fresh_jti_unless_pinned(github_oidc_key: OidcSigningKey) -> None:
    ident = GitHubIdentity(repository="acme/widget")
    doc = github_oidc_key.jwks()
    one = _decode(make_github_oidc_token(ident, audience="vouch", key=github_oidc_key), doc)
    two = _decode(make_github_oidc_token(ident, audience="vouch", key=github_oidc_key), doc)
    assert one["jti"] != two["jti"]
    pinned = make_github_oidc_token(ident, audience="vouch", key=github_oidc_key, jti="replay")
    assert _decode(pinned, doc)["jti"] == "replay"


def test_wrong_audience_expired_and_foreign_key_tokens_fail(
    github_oidc_key: OidcSigningKey,
) -> None:
    ident = GitHubIdentity(repository="acme/widget")
    doc = github_oidc_key.jwks()
    with pytest.raises(jwt.InvalidAudienceError):
        _decode(make_github_oidc_token(ident, audience="sigstore", key=github_oidc_key), doc)
    old = make_github_oidc_token(ident, audience="vouch", key=github_oidc_key,
                                 issued_at=datetime.now(UTC) - timedelta(hours=1))
    with pytest.raises(jwt.ExpiredSignatureError):
        _decode(old, doc)
    stranger = OidcSigningKey.generate(kid=github_oidc_key.kid)  # same kid, other key
    with pytest.raises(jwt.InvalidSignatureError):
        _decode(make_github_oidc_token(ident, audience="vouch", key=stranger), doc)


def test_overrides_replace_and_remove_claims(github_oidc_key: OidcSigningKey) -> None:
    ident = GitHubIdentity(repository="acme/widget")
    token = make_github_oidc_token(
        ident, audience="vouch", key=github_oidc_key,
        overrides={"repository": "mallory/widget", "workflow_ref": None},
    )
    claims = _decode(token, jwks(github_oidc_key))
    assert claims["repository"] == "mallory/widget"
    assert "workflow_ref" not in claims


def test_jwks_publishes_public_keys_only(github_oidc_key: OidcSigningKey) -> None:
    other = OidcSigningKey.generate()
    doc = jwks(github_oidc_key, other)
    assert [k["kid"] for k in doc["keys"]] == [github_oidc_key.kid, other.kid]
    for key in doc["keys"]:
        assert key["kty"] == "RSA" and key["alg"] == "RS256"
        assert "d" not in key and "p" not in key
