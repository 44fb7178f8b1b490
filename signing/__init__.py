"""Signature verification for Vouch: Sigstore bundles, GPG detached signatures, Rekor lookups.

    >>> from signing import GitHubPublisher, TrustRoot, verify_bundle
    >>> verified = verify_bundle(bundle_json, artifact_sha256, "pkg-1.0.0.tgz",  # doctest: +SKIP
    ...                          GitHubPublisher("octo/pkg", "release.yml"),
    ...                          TrustRoot.public_good())

Every function returns a verified value or raises one error tree rooted in
`signing.VerificationError` (each subclass has a stable `code`). This package is a library:
no web framework, no database, no environment variables.
"""

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
