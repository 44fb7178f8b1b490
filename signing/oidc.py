"""Verify a GitHub Actions OIDC token (a JWT signed RS256) against a JWKS.

    >>> from signing.oidc import verify_github_oidc
    >>> claims = verify_github_oidc(token, jwks=jwks, audience="vouch")   # doctest: +SKIP
    >>> claims.repository, claims.workflow_ref                            # doctest: +SKIP
    ('octo/widgets', 'octo/widgets/.github/workflows/release.yml@refs/tags/v1.0.0')

The JWKS is a dict the caller loaded (from the issuer's `jwks_uri`, or a file for air-gapped
installs and tests); this module never fetches anything. Checked: signature (RS256 only, key
chosen by `kid`), issuer, audience, `exp`, `nbf` and `iat` against the injected `now` with a
small leeway, and the presence of the claims a trusted publisher needs. Single use (`jti`) is
the caller's job: it has the database.

Any failure raises `OidcTokenInvalid` (code "invalid_token").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from jwt.algorithms import RSAAlgorithm

from signing.errors import OidcTokenInvalid
from signing.fulcio import GITHUB_ACTIONS_ISSUER

GITHUB_ISSUER = GITHUB_ACTIONS_ISSUER  # one value: signing/fulcio.py
LEEWAY_SECONDS = 60
MAX_TOKEN_BYTES = 16 * 1024
_REQUIRED = ("iss", "aud", "exp", "iat", "jti", "sub", "repository", "repository_owner",
             "repository_owner_id", "workflow_ref", "job_workflow_ref", "ref", "sha",
             "event_name")


@dataclass(frozen=True)
class GitHubOidcClaims:
    """The verified claims of a GitHub Actions OIDC token that trusted publishing uses."""

    subject: str
    repository: str
    repository_owner: str
    repository_owner_id: str
    repository_id: str | None
    workflow_ref: str
    job_workflow_ref: str
    ref: str
    sha: str
    environment: str | None
    event_name: str
    jti: str
    issued_at: datetime
    expires_at: datetime


def _key_for(token: str, jwks: Mapping[str, Any]) -> Any:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as err:
        raise OidcTokenInvalid(f"not a JWT: {err}") from err
    if header.get("alg") != "RS256":
        raise OidcTokenInvalid(f"algorithm {header.get('alg')!r} is not allowed (RS256 only)")
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, list) or not keys:
        raise OidcTokenInvalid("the JWKS holds no keys")
    kid = header.get("kid")
    candidates = [k for k in keys if isinstance(k, Mapping) and k.get("kty") == "RSA"
                  and (kid is None or k.get("kid") == kid)]
    if len(candidates) != 1:
        raise OidcTokenInvalid(f"no unique RSA key in the JWKS for kid {kid!r}")
    try:
        return RSAAlgorithm.from_jwk(json.dumps(dict(candidates[0])))
    except (jwt.PyJWTError, ValueError, TypeError) as err:
        raise OidcTokenInvalid(f"the JWKS key {kid!r} is unusable: {err}") from err


def verify_github_oidc(
    token: str,
    *,
    jwks: Mapping[str, Any],
    audience: str,
    issuer: str = GITHUB_ISSUER,
    now: datetime | None = None,
) -> GitHubOidcClaims:
    """Verify `token` and return its claims. Raises `OidcTokenInvalid`."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_BYTES:
        raise OidcTokenInvalid("the token is empty or too large")
    if not audience:
        raise OidcTokenInvalid("no audience configured: refusing to accept any audience")
    key = _key_for(token, jwks)
    moment = (now or datetime.now(UTC)).timestamp()
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key=key,
            algorithms=["RS256"],
            audience=audience,
            issuer=issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iat", "iss", "aud"], "verify_exp": False,
                     "verify_nbf": False, "verify_iat": False},
        )
    except jwt.PyJWTError as err:
        raise OidcTokenInvalid(f"token rejected: {err}") from err
    _check_times(claims, moment)
    missing = [name for name in _REQUIRED if not isinstance(claims.get(name), str | int)
               or claims.get(name) == ""]
    if missing:
        raise OidcTokenInvalid(f"token lacks required claims: {', '.join(missing)}")
    return GitHubOidcClaims(
        subject=str(claims["sub"]),
        repository=str(claims["repository"]),
        repository_owner=str(claims["repository_owner"]),
        repository_owner_id=str(claims["repository_owner_id"]),
        repository_id=str(claims["repository_id"]) if claims.get("repository_id") else None,
        workflow_ref=str(claims["workflow_ref"]),
        job_workflow_ref=str(claims["job_workflow_ref"]),
        ref=str(claims["ref"]),
        sha=str(claims["sha"]),
        environment=str(claims["environment"]) if claims.get("environment") else None,
        event_name=str(claims["event_name"]),
        jti=str(claims["jti"]),
        issued_at=datetime.fromtimestamp(int(claims["iat"]), tz=UTC),
        expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=UTC),
    )


def _check_times(claims: Mapping[str, Any], now: float) -> None:
    """exp/nbf/iat against the injected clock (pyjwt's own checks use the wall clock)."""
    try:
        exp = int(claims["exp"])
        iat = int(claims["iat"])
        nbf = int(claims.get("nbf", iat))
    except (KeyError, TypeError, ValueError) as err:
        raise OidcTokenInvalid("exp, iat and nbf must be integers") from err
    if now > exp + LEEWAY_SECONDS:
        raise OidcTokenInvalid("the token has expired")
    if now + LEEWAY_SECONDS < iat:
        raise OidcTokenInvalid("the token was issued in the future (iat)")
    if now + LEEWAY_SECONDS < nbf:
        raise OidcTokenInvalid("the token is not valid yet (nbf)")
