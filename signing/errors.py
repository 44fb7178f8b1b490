"""The one error tree raised by `signing`.

    >>> from signing.errors import VerificationError, IdentityMismatch
    >>> try:
    ...     raise IdentityMismatch("repository is evil/repo, expected good/repo")
    ... except VerificationError as err:
    ...     (err.code, str(err))
    ('identity_mismatch', 'repository is evil/repo, expected good/repo')

Every failure of a verification raises a subclass of `VerificationError`; each subclass carries
a stable, machine-readable `code` (snake_case) that the HTTP layer maps to problem+json. Errors
raised by the libraries underneath (sigstore, cryptography, pydantic, gnupg, httpx, jwt) are
always re-raised as one of these with `raise ... from err`, never leaked.
"""

from __future__ import annotations


class VerificationError(Exception):
    """Root of every verification failure. `code` is stable API; the message is for humans."""

    code: str = "verification_failed"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class SignatureInvalid(VerificationError):
    """The signature does not verify over the artifact (tampered data, forged signature)."""

    code = "signature_invalid"


class IdentityMismatch(VerificationError):
    """The signature is valid but was made by an identity the policy does not trust."""

    code = "identity_mismatch"


class DigestMismatch(VerificationError):
    """The signature or attestation is for another artifact (digest or subject name differ)."""

    code = "artifact_mismatch"


class MalformedSignature(VerificationError):
    """The bundle, attestation or signature cannot be parsed, or is not the expected kind."""

    code = "signature_malformed"


class UnsupportedSignature(MalformedSignature):
    """Well-formed, but a format this verifier does not support (e.g. intoto/0.0.2 entries)."""

    code = "signature_unsupported"


class CertificateInvalid(VerificationError):
    """The signing certificate does not chain to the trust root, has a bad SCT or profile, or
    was not valid at the time the transparency log recorded the signature."""

    code = "certificate_invalid"


class TransparencyLogError(VerificationError):
    """The log entry does not prove inclusion: bad inclusion proof, checkpoint, SET, or an entry
    that does not match the bundle or is not in the log."""

    code = "tlog_invalid"


class KeyUnknown(VerificationError):
    """The GPG signature was made by a key that is not among the registered keys."""

    code = "key_unknown"

    def __init__(self, detail: str, key_id: str | None = None) -> None:
        super().__init__(detail)
        self.key_id = key_id


class KeyRevoked(VerificationError):
    """The GPG signing key (or its primary) has been revoked."""

    code = "key_revoked"

    def __init__(self, detail: str, fingerprint: str | None = None) -> None:
        super().__init__(detail)
        self.fingerprint = fingerprint


class KeyExpired(VerificationError):
    """The GPG signing key (or its primary) has expired."""

    code = "key_expired"

    def __init__(self, detail: str, fingerprint: str | None = None) -> None:
        super().__init__(detail)
        self.fingerprint = fingerprint


class KeyInvalid(VerificationError):
    """A key offered for registration is garbage, private-key material, or not exactly one key."""

    code = "key_invalid"


class PolicyError(VerificationError):
    """The identity policy itself is unusable (empty, or identity/issuer not both pinned)."""

    code = "policy_invalid"


class RekorUnavailable(VerificationError):
    """The Rekor log could not be reached or answered garbage, and lookups fail closed."""

    code = "rekor_unavailable"


class TrustRootInvalid(VerificationError):
    """A trusted_root.json file cannot be read or is not a valid Sigstore trusted root."""

    code = "trust_root_invalid"


class TrustRefreshFailed(VerificationError):
    """Updating the pinned trust root through TUF failed (no network, or TUF refused it)."""

    code = "trust_refresh_failed"


class OidcTokenInvalid(VerificationError):
    """An OIDC token (JWT) failed verification: signature, issuer, audience or time claims."""

    code = "invalid_token"


class TimestampInvalid(TransparencyLogError):
    """No trustworthy signing time: missing, unverifiable or out-of-window RFC 3161 timestamps."""

    code = "timestamp_invalid"


class AttachedSignature(MalformedSignature):
    """An inline (attached) or clear-signed OpenPGP message where a detached signature was
    expected: the registry stores the artifact and the signature separately."""

    code = "signature_not_detached"
