"""Verify a Sigstore bundle for an artifact digest against an identity policy.

    >>> from signing.sigstore import verify_bundle
    >>> from signing.policy import GitHubPublisher
    >>> from signing.trust import TrustRoot
    >>> verified = verify_bundle(                                   # doctest: +SKIP
    ...     open("rfc8785-0.1.2-py3-none-any.whl.sigstore", "rb").read(),
    ...     artifact_sha256="c4e92e9ecc828bef2d7edea0f8f0b6bd4bbd7c7bc4a1b0c8f6b2b48d1ae7f9d4",
    ...     artifact_name="rfc8785-0.1.2-py3-none-any.whl",
    ...     policy=GitHubPublisher("trailofbits/rfc8785.py", "release.yml"),
    ...     trust=TrustRoot.public_good(),
    ... )
    >>> verified.github.repository, verified.log_index              # doctest: +SKIP
    ('trailofbits/rfc8785.py', 25915956)

Accepts bundles v0.1-v0.3 and PEP 740 attestation objects; hashedrekord entries (a message
signature over the digest; the artifact bytes are never needed) and DSSE envelopes carrying an
in-toto statement whose ONE subject has the artifact's sha256 (and name, when given).

Nothing is fetched: the trust root is explicit and Rekor is not contacted (inclusion is proven
by the proof, checkpoint and SET inside the bundle; `signing.rekor` can confirm online).

On failure raises a `signing.errors.VerificationError` subclass: `MalformedSignature`,
`UnsupportedSignature`, `DigestMismatch`, `IdentityMismatch`, `CertificateInvalid`,
`TransparencyLogError`, `TimestampInvalid`, `SignatureInvalid`, or `PolicyError` for an empty
policy. Exceptions of the libraries underneath never escape.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from cryptography import x509
from sigstore.errors import CertValidationError
from sigstore.errors import Error as SigstoreError
from sigstore.hashes import Hashed
from sigstore_models.common.v1 import HashAlgorithm

from signing.bundle import DSSE_PAYLOAD_TYPE, ParsedBundle, parse_bundle
from signing.errors import (
    CertificateInvalid,
    DigestMismatch,
    MalformedSignature,
    SignatureInvalid,
    TimestampInvalid,
    TransparencyLogError,
    UnsupportedSignature,
    VerificationError,
)
from signing.fulcio import GITHUB_ACTIONS_ISSUER, CertificateClaims, certificate_claims
from signing.policy import IdentityPolicy, require_policy
from signing.trust import TrustRoot

# sigstore-python 4.5.1 accepts an integratedTime in the future (research pitfall 11);
# we refuse anything more than this beyond the verifier's clock.
MAX_CLOCK_SKEW = timedelta(minutes=5)
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_IN_TOTO_STATEMENT_TYPES = {"https://in-toto.io/Statement/v1", "https://in-toto.io/Statement/v0.1"}


@dataclass(frozen=True)
class GitHubClaims:
    """GitHub Actions claims from the Fulcio certificate (verified with it)."""

    repository: str | None
    workflow_ref: str | None  # Build Config URI (1.18): the top-level workflow @ ref
    job_workflow_ref: str | None  # Build Signer URI (1.9): the workflow that ran the job
    ref: str | None
    sha: str | None
    trigger: str | None
    run_invocation_uri: str | None
    repository_owner_id: str | None = None  # Source Repository Owner Identifier (1.17)


@dataclass(frozen=True)
class VerifiedSigstore:
    """What a successful `verify_bundle` proved."""

    identity: str
    issuer: str
    github: GitHubClaims | None
    log_index: int
    log_id: str  # hex sha256 of the log's public key (Rekor v1 log id)
    integrated_time: datetime | None  # log time (Rekor v1) or TSA time (Rekor v2)
    entry_kind: str  # "hashedrekord" | "dsse"
    predicate_type: str | None = None
    method: Literal["sigstore"] = "sigstore"


def verify_bundle(
    bundle: bytes | str,
    artifact_sha256: str,
    artifact_name: str | None,
    policy: IdentityPolicy | None,
    trust: TrustRoot,
    *,
    artifact_sha512: str | None = None,
    now: datetime | None = None,
) -> VerifiedSigstore:
    """Verify `bundle` for the artifact whose sha256 (hex) is `artifact_sha256`.

    `artifact_name` (optional) must equal the in-toto subject name of DSSE bundles.
    `artifact_sha512` (optional, hex) lets subjects that carry only sha512 (npm provenance)
    match; when a subject carries sha256 it is always checked. `now` is the verifier's clock
    (default: current UTC time). Raises as the module docstring says.
    """
    checked_policy = require_policy(policy)
    digest = artifact_sha256.lower()
    if not _SHA256_RE.match(digest):
        raise DigestMismatch("artifact_sha256 must be 64 hexadecimal characters")
    sha512 = artifact_sha512.lower() if artifact_sha512 is not None else None
    if sha512 is not None and not re.fullmatch(r"[0-9a-f]{128}", sha512):
        raise DigestMismatch("artifact_sha512 must be 128 hexadecimal characters")
    parsed = parse_bundle(bundle)
    _check_binding(parsed, digest)
    checked_policy = recording = _ClaimsOnce(checked_policy)

    predicate_type: str | None = None
    try:
        if parsed.is_dsse:
            payload_type, payload = trust.verifier.verify_dsse(parsed.bundle, checked_policy)
            predicate_type = _check_statement(
                payload_type, payload, {"sha256": digest, "sha512": sha512}, artifact_name
            )
        else:
            hashed = Hashed(algorithm=HashAlgorithm.SHA2_256, digest=bytes.fromhex(digest))
            trust.verifier.verify_artifact(hashed, parsed.bundle, checked_policy)
    except VerificationError:
        raise  # ours: IdentityMismatch from the policy, DigestMismatch from the statement
    except Exception as err:
        raise _classify(err) from err

    return _result(parsed, trust, predicate_type, now or datetime.now(UTC),
                   recording.claims_of(parsed.bundle.signing_certificate))


class _ClaimsOnce(IdentityPolicy):
    """``policy``, remembering the claims it was checked against, so the result reads the
    certificate's extensions once (they were parsed twice: ~a fifth of a verification)."""

    def __init__(self, policy: IdentityPolicy) -> None:
        self.policy = policy
        self._cert: x509.Certificate | None = None
        self._claims: CertificateClaims | None = None

    def verify(self, cert: x509.Certificate) -> None:
        claims = certificate_claims(cert)
        self.policy.check(claims)
        self._cert, self._claims = cert, claims

    def check(self, claims: CertificateClaims) -> None:
        self.policy.check(claims)

    def describe(self) -> str:
        return self.policy.describe()

    def claims_of(self, cert: x509.Certificate) -> CertificateClaims:
        """The claims of ``cert``: the checked ones if the policy saw this very certificate
        (compared by its DER encoding), else parsed now."""
        if self._claims is not None and self._cert is not None and self._cert == cert:
            return self._claims
        return certificate_claims(cert)


def _check_binding(parsed: ParsedBundle, digest: str) -> None:
    """Refuse early, with `DigestMismatch`, a bundle whose materials name another artifact.

    The verifier re-checks all of this cryptographically; this only makes the reason precise.
    """
    doc = parsed.document
    message = doc.get("messageSignature")
    if isinstance(message, dict) and isinstance(message.get("messageDigest"), dict):
        md = message["messageDigest"]
        if md.get("algorithm", "SHA2_256") != "SHA2_256":
            raise UnsupportedSignature(f"message digest algorithm {md.get('algorithm')}")
        claimed = _b64_hex(md.get("digest"))
        if claimed is not None and not hmac.compare_digest(claimed, digest):
            raise DigestMismatch("the bundle signs another artifact (message digest differs)")
    if parsed.kind == "hashedrekord" and not parsed.is_dsse:
        spec = parsed.unverified_body.get("spec") or {}
        claimed = None
        if parsed.kind_version == "0.0.1":
            hash_ = ((spec.get("data") or {}).get("hash") or {})
            if hash_.get("algorithm") == "sha256" and isinstance(hash_.get("value"), str):
                claimed = hash_["value"].lower()
        else:
            data = ((spec.get("hashedRekordV002") or {}).get("data") or {})
            if data.get("algorithm") == "SHA2_256":
                claimed = _b64_hex(data.get("digest"))
        if claimed is not None and not hmac.compare_digest(claimed, digest):
            raise DigestMismatch("the log entry records another artifact's digest")


def _b64_hex(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True).hex()
    except (binascii.Error, ValueError):
        return None


def _check_statement(
    payload_type: str, payload: bytes, digests: dict[str, str | None], name: str | None
) -> str | None:
    """PEP 740 / in-toto: exactly one subject, carrying this artifact's digest and name.

    Every digest of the subject that we know must match, and at least one must be known.
    """
    if payload_type != DSSE_PAYLOAD_TYPE:
        raise UnsupportedSignature(f"DSSE payload type {payload_type!r} is not in-toto")
    try:
        statement = json.loads(payload)
    except ValueError as err:
        raise MalformedSignature("in-toto statement is not JSON") from err
    if not isinstance(statement, dict) or statement.get("_type") not in _IN_TOTO_STATEMENT_TYPES:
        raise MalformedSignature("DSSE payload is not an in-toto statement")
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or len(subjects) != 1 or not isinstance(subjects[0], dict):
        raise DigestMismatch("the in-toto statement must have exactly one subject")
    subject = subjects[0]
    subject_digests = subject.get("digest")
    if not isinstance(subject_digests, dict):
        raise DigestMismatch("the statement's subject has no digest")
    checked = False
    for algorithm, ours in digests.items():
        theirs = subject_digests.get(algorithm)
        if ours is None or theirs is None:
            continue
        if not isinstance(theirs, str) or not hmac.compare_digest(theirs.lower(), ours):
            raise DigestMismatch(
                f"the statement's subject is another artifact ({algorithm} differs)"
            )
        checked = True
    if not checked:
        raise DigestMismatch("the statement's subject carries no digest of this artifact "
                             f"(has {sorted(subject_digests)})")
    if name is not None and subject.get("name") != name:
        raise DigestMismatch(
            f"the statement's subject is {subject.get('name')!r}, not {name!r}"
        )
    predicate = statement.get("predicateType")
    return predicate if isinstance(predicate, str) else None


_TLOG_HINTS = ("log entry", "inclusion", "checkpoint", "set:", "merkle", "transparency log",
               "signed entry", "keyring", "root hash")
_CERT_HINTS = ("sct", "certificate", "signing cert", "key usage", "extended usage",
               "chain", "fulcio")
_TIME_HINTS = ("timestamp", "verified time")


def _classify(err: Exception) -> VerificationError:
    """Map an exception from sigstore/cryptography/pydantic to our error tree."""
    text = str(err)
    lowered = text.lower()
    if isinstance(err, CertValidationError):
        return CertificateInvalid(text)
    if not isinstance(err, SigstoreError):
        # e.g. cryptography.x509.ExtensionNotFound for a leaf without EKU/KeyUsage,
        # pydantic ValidationError on an entry body, ValueError on odd encodings.
        if "extension" in lowered or "x509" in type(err).__module__:
            return CertificateInvalid(f"certificate profile invalid: {text}")
        return MalformedSignature(f"{type(err).__name__}: {text}")
    if "integrated time only supported" in lowered or "unsupported" in lowered:
        return UnsupportedSignature(text)
    if "digest mismatch" in lowered:
        return DigestMismatch(text)
    if lowered.startswith(("invalid log entry", "set:")):
        return TransparencyLogError(text)
    if any(hint in lowered for hint in _CERT_HINTS):
        return CertificateInvalid(text)
    if any(hint in lowered for hint in _TIME_HINTS):
        return TimestampInvalid(text)
    if any(hint in lowered for hint in _TLOG_HINTS):
        return TransparencyLogError(text)
    return SignatureInvalid(text)


def _result(
    parsed: ParsedBundle, trust: TrustRoot, predicate_type: str | None, now: datetime,
    claims: CertificateClaims,
) -> VerifiedSigstore:
    integrated = parsed.integrated_time
    if integrated is not None and integrated > now + MAX_CLOCK_SKEW:
        raise TransparencyLogError(f"log integrated time {integrated.isoformat()} is in the "
                                   "future")
    if integrated is None:
        integrated = _tsa_time(parsed)
    _check_tlog_validity(parsed, trust, integrated)
    if claims.identity is None or claims.issuer is None:
        raise CertificateInvalid("certificate names no identity or issuer")
    github = None
    if claims.issuer == GITHUB_ACTIONS_ISSUER:
        github = GitHubClaims(
            repository=claims.repository,
            workflow_ref=claims.build_config_uri,
            job_workflow_ref=claims.build_signer_uri,
            ref=claims.ref,
            sha=claims.sha,
            trigger=claims.trigger,
            run_invocation_uri=claims.run_invocation_uri,
            repository_owner_id=claims.source_repository_owner_identifier,
        )
    return VerifiedSigstore(
        identity=claims.identity,
        issuer=claims.issuer,
        github=github,
        log_index=parsed.log_index,
        log_id=parsed.log_id.hex(),
        integrated_time=integrated,
        entry_kind=parsed.kind if not parsed.is_dsse else "dsse",
        predicate_type=predicate_type,
    )


def _check_tlog_validity(
    parsed: ParsedBundle, trust: TrustRoot, when: datetime | None
) -> None:
    """The log key must have been valid when the entry was logged (the spec requires it;
    sigstore-python 4.5.1 does not check `validFor` against the log time)."""
    key = trust.tlog_key(parsed.log_id)
    if key is None or when is None:
        return  # Rekor v2 log ids are note key ids, not sha256(SPKI): nothing to match.
    if when < key.valid_from or (key.valid_until is not None and when > key.valid_until):
        raise TransparencyLogError(
            f"log key {parsed.log_id.hex()[:16]} was not valid at {when.isoformat()}"
        )


def _tsa_time(parsed: ParsedBundle) -> datetime | None:
    try:
        data = parsed.bundle.verification_material.timestamp_verification_data
        if data is None or not data.rfc3161_timestamps:
            return None
        gen_time: datetime = data.rfc3161_timestamps[0].tst_info.gen_time
        return gen_time if gen_time.tzinfo else gen_time.replace(tzinfo=UTC)
    except Exception:  # best effort: the time was already verified by the Verifier
        return None
