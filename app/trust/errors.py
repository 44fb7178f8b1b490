"""The trust domain's errors, and the one mapping of ``signing`` library errors to them.

    try:
        verified = verify_detached(path, signature, keys, now=now)
    except VerificationError as err:
        raise signature_rejected(err, "GPG verification failed") from err

Every ``signing.errors`` exception that reaches a caller of the registry passes through a
function here, so a reader finds in one file which library code becomes which problem:

- ``signature_rejected``: a publish's signature (any ``VerificationError``) -> 400
  ``SignatureRejected`` carrying the library's own code (``identity_mismatch``,
  ``artifact_mismatch``, ``key_unknown``, ...).
- ``invalid_key``: a GPG key offered for registration -> 400 ``invalid_gpg_key``.
- ``proof_invalid``: a key-possession proof -> 400 ``gpg_proof_invalid`` (``reason``: the
  library's code).
- ``invalid_oidc_token``: a CI OIDC token (``OidcTokenInvalid``) -> 401 ``invalid_token``.
- ``rekor_unreachable``: the online log did not answer (``RekorUnavailable``, fail-closed)
  -> 503 ``rekor_unavailable``.
- ``malformed_policy``: fields that describe no identity (``PolicyError``) -> 400
  ``invalid_input`` (``MalformedInput``).

Codes of the classes below: ``invalid_gpg_key``, ``gpg_challenge_invalid``,
``gpg_challenge_expired``, ``gpg_challenge_used``, ``gpg_proof_invalid`` (400);
``gpg_key_taken``, ``gpg_key_revoked`` (409); ``invalid_token``, ``invalid_reuse_token`` (401);
``invalid_publisher`` (403); ``oidc_jwks_unavailable``, ``rekor_unavailable`` (503).
"""

from __future__ import annotations

from app.core.errors import (
    Conflict,
    DomainError,
    MalformedInput,
    ServiceUnavailable,
    SignatureRejected,
)
from signing.errors import OidcTokenInvalid, PolicyError, RekorUnavailable, VerificationError


# -- GPG keys -----------------------------------------------------------------------------------
class InvalidKey(DomainError):
    code = "invalid_gpg_key"
    title = "Invalid GPG key"


class ChallengeInvalid(DomainError):
    code = "gpg_challenge_invalid"
    title = "Unknown GPG key challenge"


class ChallengeExpired(DomainError):
    code = "gpg_challenge_expired"
    title = "GPG key challenge expired"


class ChallengeUsed(DomainError):
    code = "gpg_challenge_used"
    title = "GPG key challenge already used"


class ProofInvalid(DomainError):
    code = "gpg_proof_invalid"
    title = "No proof of possession"


class GpgKeyTaken(Conflict):
    code = "gpg_key_taken"


class GpgKeyRevoked(Conflict):
    code = "gpg_key_revoked"


# -- OIDC exchange ------------------------------------------------------------------------------
class InvalidOidcToken(DomainError):
    code = "invalid_token"
    status = 401
    title = "Invalid OIDC token"


class ReusedOidcToken(DomainError):
    code = "invalid_reuse_token"
    status = 401
    title = "OIDC token already used"


class InvalidPublisher(DomainError):
    code = "invalid_publisher"
    status = 403
    title = "No matching trusted publisher"


class JwksUnavailable(ServiceUnavailable):
    code = "oidc_jwks_unavailable"


# -- transparency log ---------------------------------------------------------------------------
class RekorUnreachable(ServiceUnavailable):
    """Fail-closed and the log did not answer: the publish may be retried later."""

    code = "rekor_unavailable"


# -- the mapping of signing's errors ------------------------------------------------------------
def signature_rejected(err: VerificationError, context: str) -> SignatureRejected:
    """A publish's signature failed: the library's code, ``context: <what failed>``."""
    return SignatureRejected(err.code, f"{context}: {err}")


def invalid_key(err: VerificationError) -> InvalidKey:
    """A key offered for registration that the library cannot use."""
    return InvalidKey(f"{err.code}: {err}")


def proof_invalid(err: VerificationError) -> ProofInvalid:
    """A challenge signature that does not prove possession of the key."""
    return ProofInvalid(f"the signature does not prove you hold this key: {err}",
                        reason=err.code)


def invalid_oidc_token(err: OidcTokenInvalid) -> InvalidOidcToken:
    """A CI OIDC token the library refused (signature, issuer, audience, times)."""
    return InvalidOidcToken(f"the OIDC token is invalid: {err.detail}")


def rekor_unreachable(err: RekorUnavailable, log_index: int | None) -> RekorUnreachable:
    """Fail-closed: the log could not confirm the bundle's entry."""
    return RekorUnreachable(
        f"the transparency log could not confirm the signature's entry (log index "
        f"{log_index}): {err.detail}; the publish was refused "
        "(VOUCH_REKOR_MODE=fail_closed), retry later")


def malformed_policy(err: PolicyError) -> MalformedInput:
    """Trusted-publisher fields that describe no identity."""
    return MalformedInput(str(err))
