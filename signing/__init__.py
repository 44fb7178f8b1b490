"""Signature verification for Vouch: Sigstore bundles, GPG detached signatures, Rekor lookups.

    >>> from signing import GitHubPublisher, TrustRoot, verify_bundle
    >>> verified = verify_bundle(bundle_json, artifact_sha256, "pkg-1.0.0.tgz",  # doctest: +SKIP
    ...                          GitHubPublisher("octo/pkg", "release.yml"),
    ...                          TrustRoot.public_good())

Every function returns a verified value or raises one error tree rooted in
`signing.VerificationError` (each subclass has a stable `code`). This package is a library:
no web framework, no database, no environment variables.
"""

import importlib
from typing import TYPE_CHECKING, Any

# Imported on first use (PEP 562): `from signing.errors import X` or a settings module that
# needs one constant must not load sigstore, TUF, rich and requests (issue 13: memory).
_EXPORTS = {
    "AnyOf": "signing.policy",
    "AttachedSignature": "signing.errors",
    "CertificateInvalid": "signing.errors",
    "DigestMismatch": "signing.errors",
    "DigestSigner": "signing.rekor",
    "GenericIdentity": "signing.policy",
    "GitHubClaims": "signing.sigstore",
    "GitHubOidcClaims": "signing.oidc",
    "GitHubPublisher": "signing.policy",
    "IdentityMismatch": "signing.errors",
    "IdentityPolicy": "signing.policy",
    "KeyExpired": "signing.errors",
    "KeyInfo": "signing.gpg",
    "KeyInvalid": "signing.errors",
    "KeyRevoked": "signing.errors",
    "KeyUnknown": "signing.errors",
    "LogConfirmation": "signing.rekor",
    "MalformedSignature": "signing.errors",
    "OidcTokenInvalid": "signing.errors",
    "PolicyError": "signing.errors",
    "RekorClient": "signing.rekor",
    "RekorEntry": "signing.rekor",
    "RekorUnavailable": "signing.errors",
    "SignatureInvalid": "signing.errors",
    "TimestampInvalid": "signing.errors",
    "TransparencyLogError": "signing.errors",
    "TrustRefreshFailed": "signing.errors",
    "TrustRoot": "signing.trust",
    "TrustRootInvalid": "signing.errors",
    "UnsupportedSignature": "signing.errors",
    "VerificationError": "signing.errors",
    "VerifiedGpg": "signing.gpg",
    "VerifiedSigstore": "signing.sigstore",
    "inspect_key": "signing.gpg",
    "refresh_via_tuf": "signing.trust",
    "verify_bundle": "signing.sigstore",
    "verify_detached": "signing.gpg",
    "verify_github_oidc": "signing.oidc",
}

if TYPE_CHECKING:
    from signing.errors import (
        AttachedSignature,
        CertificateInvalid,
        DigestMismatch,
        IdentityMismatch,
        KeyExpired,
        KeyInvalid,
        KeyRevoked,
        KeyUnknown,
        MalformedSignature,
        OidcTokenInvalid,
        PolicyError,
        RekorUnavailable,
        SignatureInvalid,
        TimestampInvalid,
        TransparencyLogError,
        TrustRefreshFailed,
        TrustRootInvalid,
        UnsupportedSignature,
        VerificationError,
    )
    from signing.gpg import KeyInfo, VerifiedGpg, inspect_key, verify_detached
    from signing.oidc import GitHubOidcClaims, verify_github_oidc
    from signing.policy import AnyOf, GenericIdentity, GitHubPublisher, IdentityPolicy
    from signing.rekor import DigestSigner, LogConfirmation, RekorClient, RekorEntry
    from signing.sigstore import GitHubClaims, VerifiedSigstore, verify_bundle
    from signing.trust import TrustRoot, refresh_via_tuf


__all__ = [
    "AnyOf",
    "AttachedSignature",
    "CertificateInvalid",
    "DigestMismatch",
    "DigestSigner",
    "GenericIdentity",
    "GitHubClaims",
    "GitHubOidcClaims",
    "GitHubPublisher",
    "IdentityMismatch",
    "IdentityPolicy",
    "KeyExpired",
    "KeyInfo",
    "KeyInvalid",
    "KeyRevoked",
    "KeyUnknown",
    "LogConfirmation",
    "MalformedSignature",
    "OidcTokenInvalid",
    "PolicyError",
    "RekorClient",
    "RekorEntry",
    "RekorUnavailable",
    "SignatureInvalid",
    "TimestampInvalid",
    "TransparencyLogError",
    "TrustRefreshFailed",
    "TrustRoot",
    "TrustRootInvalid",
    "UnsupportedSignature",
    "VerificationError",
    "VerifiedGpg",
    "VerifiedSigstore",
    "inspect_key",
    "refresh_via_tuf",
    "verify_bundle",
    "verify_detached",
    "verify_github_oidc",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'signing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
