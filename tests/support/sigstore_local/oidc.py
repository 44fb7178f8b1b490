"""A test OIDC issuer for GitHub Actions-shaped ID tokens: an RS256 key, its JWKS, a minter.

Example::

    key = OidcSigningKey.generate()                  # RSA-2048, ~50 ms: share it per session
    Path("jwks.json").write_text(json.dumps(key.jwks()))
    token = make_github_oidc_token(ident, audience="vouch", key=key)
    expired = make_github_oidc_token(ident, audience="vouch", key=key,
                                     issued_at=now - timedelta(hours=1))
    forged = make_github_oidc_token(ident, audience="vouch", key=OidcSigningKey.generate())

Claims are GitHub's (``GitHubIdentity.oidc_claims``) plus ``iat``/``nbf``/``exp`` and a fresh
``jti``; `overrides` replaces or adds claims, and a value of `None` removes the claim (to test
missing-claim handling). The header carries ``kid`` so verifiers pick the key from the JWKS.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from .identity import GitHubIdentity

DEFAULT_TOKEN_LIFETIME = timedelta(minutes=5)


@dataclass(frozen=True)
class OidcSigningKey:
    """One RSA signing key of the test issuer, with its key id."""

    private_key: rsa.RSAPrivateKey
    kid: str

    @classmethod
    def generate(cls, kid: str | None = None) -> OidcSigningKey:
        return cls(
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
            kid or uuid.uuid4().hex[:16],
        )

    def jwk(self) -> dict[str, Any]:
        """The public JWK (``kty``, ``n``, ``e``, ``kid``, ``alg``, ``use``)."""
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        jwk.update({"kid": self.kid, "alg": "RS256", "use": "sig"})
        return jwk

    def jwks(self) -> dict[str, Any]:
        """A JWKS document publishing this key alone."""
        return jwks(self)


def jwks(*keys: OidcSigningKey) -> dict[str, Any]:
    """A JWKS document (``{"keys": [...]}``) publishing the given keys."""
    return {"keys": [k.jwk() for k in keys]}


def make_github_oidc_token(
    identity: GitHubIdentity,
    *,
    audience: str,
    key: OidcSigningKey,
    issued_at: datetime | None = None,
    lifetime: timedelta = DEFAULT_TOKEN_LIFETIME,
    jti: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> str:
    """An RS256-signed JWT shaped like a GitHub Actions OIDC token for `identity`."""
    iat = (issued_at or datetime.now(UTC)).replace(microsecond=0)
    claims = identity.oidc_claims(audience=audience)
    claims.update(
        {
            "jti": jti or str(uuid.uuid4()),
            "iat": int(iat.timestamp()),
            "nbf": int(iat.timestamp()),
            "exp": int((iat + lifetime).timestamp()),
        }
    )
    for name, value in (overrides or {}).items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return jwt.encode(claims, key.private_key, algorithm="RS256",
                      headers={"kid": key.kid, "typ": "JWT"})
