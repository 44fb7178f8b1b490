"""PEP 740 attestations: verify the ones an upload carries, build the provenance object.

    >>> from formats.pypi.attestations import verify_attestations, provenance_object
    >>> verified = verify_attestations(                                  # doctest: +SKIP
    ...     form["attestations"], filename="pypi_attestations-0.0.19.tar.gz",
    ...     sha256=file_sha256, publishers=[GitHubPublisher("trailofbits/pypi-attestations",
    ...                                                     "release.yml")],
    ...     trust=TrustRoot.public_good())
    >>> provenance_object(provenance_bundles(verified))                  # doctest: +SKIP
    {'version': 1, 'attestation_bundles': [{'publisher': {'kind': 'GitHub', ...}, ...}]}

The `attestations` upload field is a JSON array of PEP 740 attestation objects. Each one is
parsed with `pypi-attestations` (its pydantic models: `version` must be 1, base64 fields,
at least one transparency entry) and converted to a Sigstore bundle with its
`Attestation.to_bundle()`. The cryptography then runs through `signing.sigstore.verify_bundle`,
the registry's one Sigstore path: the trust root is the registry's own (`signing.trust`), not
`Attestation.verify`'s, which always builds `Verifier.production()` and so could neither use
the local test instance nor a pinned root (it reads an unverified cache, see signing/trust.py).
What `verify_bundle` checks: certificate chain and SCT, transparency-log inclusion (proof,
checkpoint, SET), the DSSE signature, the certificate identity against the expected trusted
publishers (`signing.policy`: GitHub repository + workflow + owner id, or identity + issuer),
exactly one in-toto subject whose sha256 is the file's.

This module adds PEP 740's own rules: a non-empty array; each statement an in-toto Statement
v1 whose predicate type is PyPI's publish/v1 or SLSA provenance v1, at most one attestation
per predicate type; the subject name must be a distribution filename equal, once parsed and
normalised (project name, version, wheel tags), to the uploaded file's name.

Failures raise `signing.errors` classes: `MalformedSignature` (not JSON, not attestation
objects), `UnsupportedSignature` (`version` other than 1), `InvalidAttestations` (the PEP 740
rules above: empty, too many, unknown or repeated predicate type), `DigestMismatch` (subject
name or sha256 of another file) and whatever `verify_bundle` raises (`IdentityMismatch`,
`SignatureInvalid`, `CertificateInvalid`, `TransparencyLogError`, ...). Nothing else escapes.
This is a library: no web framework, no database.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography import x509
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)
from pydantic import ValidationError
from pypi_attestations import Attestation, AttestationType

from signing.errors import (
    DigestMismatch,
    IdentityMismatch,
    MalformedSignature,
    UnsupportedSignature,
)
from signing.fulcio import certificate_claims
from signing.policy import AnyOf, GenericIdentity, GitHubPublisher, IdentityPolicy
from signing.sigstore import VerifiedSigstore, verify_bundle
from signing.trust import TrustRoot

PUBLISH_V1 = AttestationType.PYPI_PUBLISH_V1.value
SLSA_PROVENANCE_V1 = AttestationType.SLSA_PROVENANCE_V1.value
PREDICATE_TYPES = (PUBLISH_V1, SLSA_PROVENANCE_V1)
STATEMENT_V1 = "https://in-toto.io/Statement/v1"
#: The whole `attestations` field; two real attestations are about 10 KB.
MAX_ATTESTATIONS_BYTES = 1 << 20
_GITLAB_ISSUER = "https://gitlab.com"
_GOOGLE_ISSUER = "https://accounts.google.com"


class InvalidAttestations(MalformedSignature):
    """Well-formed attestation objects that break PEP 740's rules for an upload: none, more
    than one per predicate type, or a predicate type PyPI does not define."""

    code = "invalid_attestations"


@dataclass(frozen=True)
class VerifiedAttestation:
    """One attestation that verified: its predicate type, what `signing` proved, the trusted
    publisher whose identity matched, the attestation object (normalised JSON) and the
    Sigstore bundle it was verified as (for an online transparency-log lookup)."""

    predicate_type: str
    sigstore: VerifiedSigstore
    publisher: IdentityPolicy
    attestation: dict[str, Any]
    bundle: str


@dataclass(frozen=True)
class ProvenanceBundle:
    """PEP 740 "attestation bundle": one publisher and the attestations it signed."""

    publisher: dict[str, Any]
    attestations: tuple[dict[str, Any], ...]


def parse_attestations(raw: bytes | str) -> list[Attestation]:
    """The attestation objects of an upload's `attestations` field, unverified.

    Raises `MalformedSignature` (not a JSON array of objects, or an object the PEP 740 model
    refuses), `UnsupportedSignature` (an attestation `version` other than 1) or
    `InvalidAttestations` (an empty array, or more than one per predicate type possible).
    """
    if len(raw) > MAX_ATTESTATIONS_BYTES:
        raise MalformedSignature(f"attestations are larger than {MAX_ATTESTATIONS_BYTES} bytes")
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise MalformedSignature(f"attestations are not JSON: {err}") from err
    if not isinstance(doc, list) or not all(isinstance(item, dict) for item in doc):
        raise MalformedSignature("attestations must be a JSON array of attestation objects")
    if not doc:
        raise InvalidAttestations("the attestations array is empty")
    if len(doc) > len(PREDICATE_TYPES):
        raise InvalidAttestations(f"{len(doc)} attestations: at most one per predicate type "
                                  f"({len(PREDICATE_TYPES)} types are known)")
    parsed: list[Attestation] = []
    for index, item in enumerate(doc):
        if item.get("version") != 1:
            raise UnsupportedSignature(f"attestation {index} has version "
                                       f"{item.get('version')!r}; only version 1 is defined")
        try:
            parsed.append(Attestation.model_validate(item))
        except ValidationError as err:
            raise MalformedSignature(f"attestation {index} is not a PEP 740 attestation: "
                                     f"{_first_error(err)}") from err
    return parsed


def verify_attestations(
    raw: bytes | str,
    *,
    filename: str,
    sha256: str,
    publishers: Sequence[IdentityPolicy],
    trust: TrustRoot,
    now: datetime | None = None,
) -> list[VerifiedAttestation]:
    """Verify every attestation of `raw` for the file `filename` whose sha256 (hex) is
    `sha256`, signed by one of `publishers`, against `trust`. `now` is the verifier's clock.
    Returns one `VerifiedAttestation` per attestation, in upload order; raises as the module
    docstring says (an empty `publishers` is `PolicyError`: nobody is trusted)."""
    policy = AnyOf(list(publishers))
    attestations = parse_attestations(raw)
    wanted = _dist_key(filename, "the uploaded file")
    seen: set[str] = set()
    for index, attestation in enumerate(attestations):
        predicate = _unverified_predicate(attestation, index)
        if predicate not in PREDICATE_TYPES:
            raise InvalidAttestations(f"attestation {index} has predicate type {predicate!r}; "
                                      f"known: {', '.join(PREDICATE_TYPES)}")
        if predicate in seen:
            raise InvalidAttestations(f"more than one attestation of predicate type {predicate}")
        seen.add(predicate)
    return [_verify_one(attestation, index, wanted, sha256, policy, trust, now)
            for index, attestation in enumerate(attestations)]


def _verify_one(attestation: Attestation, index: int, wanted: tuple[object, ...], sha256: str,
                policy: AnyOf, trust: TrustRoot, now: datetime | None) -> VerifiedAttestation:
    try:
        bundle = attestation.to_bundle().to_json()
    except Exception as err:  # pypi-attestations, sigstore, pydantic: none may escape
        raise MalformedSignature(f"attestation {index} cannot be read as a Sigstore bundle: "
                                 f"{err}") from err
    verified = verify_bundle(bundle, sha256, None, policy, trust, now=now)
    # The statement is the DSSE payload verify_bundle has just verified: trustworthy now.
    statement = attestation.statement
    if statement.get("_type") != STATEMENT_V1:
        raise MalformedSignature(f"attestation {index} is not an in-toto Statement v1")
    subject = statement["subject"][0]  # exactly one: verify_bundle checked it
    name = subject.get("name")
    if not isinstance(name, str) or _dist_key(name, "the attestation's subject") != wanted:
        raise DigestMismatch(f"attestation {index} is for {name!r}, not this file")
    return VerifiedAttestation(predicate_type=str(statement.get("predicateType")),
                               sigstore=verified,
                               publisher=_matching_publisher(policy, attestation),
                               attestation=attestation.model_dump(mode="json"),
                               bundle=bundle)


def _unverified_predicate(attestation: Attestation, index: int) -> str:
    """The predicate type the statement claims (checked cryptographically later)."""
    try:
        statement = attestation.statement
    except (ValueError, UnicodeDecodeError) as err:
        raise MalformedSignature(f"attestation {index}'s statement is not JSON") from err
    if not isinstance(statement, dict):
        raise MalformedSignature(f"attestation {index}'s statement is not a JSON object")
    predicate = statement.get("predicateType")
    if not isinstance(predicate, str):
        raise MalformedSignature(f"attestation {index}'s statement has no predicate type")
    return predicate


def _dist_key(filename: str, what: str) -> tuple[object, ...]:
    """A distribution filename parsed and normalised (PEP 503 name, PEP 440 version, wheel
    build tag and tags): equal keys name the same distribution. `DigestMismatch` otherwise."""
    try:
        if filename.endswith(".whl"):
            return ("wheel", *parse_wheel_filename(filename))
        if filename.endswith((".tar.gz", ".zip")):
            return ("sdist", *parse_sdist_filename(filename))
    except (InvalidWheelFilename, InvalidSdistFilename) as err:
        raise DigestMismatch(f"{what} {filename!r} is not a valid distribution filename: "
                             f"{err}") from err
    raise DigestMismatch(f"{what} {filename!r} is not a wheel or sdist filename")


def _matching_publisher(policy: AnyOf, attestation: Attestation) -> IdentityPolicy:
    """The first trusted publisher whose identity the (verified) certificate carries."""
    claims = certificate_claims(
        x509.load_der_x509_certificate(attestation.verification_material.certificate))
    for publisher in policy.policies:
        try:
            publisher.check(claims)
        except IdentityMismatch:
            continue
        return publisher
    raise IdentityMismatch("no trusted publisher matches the certificate")  # verified above


def _first_error(err: ValidationError) -> str:
    first = err.errors()[0] if err.errors() else {"loc": (), "msg": str(err)}
    where = ".".join(str(part) for part in first.get("loc", ()))
    return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))


# -- the provenance object (GET /integrity/<project>/<version>/<file>/provenance) ------------
def publisher_object(publisher: IdentityPolicy) -> dict[str, Any]:
    """PEP 740's `publisher` for a trusted publisher, in the shapes pypi-attestations reads:
    ``GitHub`` (repository, workflow, environment), ``GitLab`` (repository,
    workflow_filepath; from a gitlab.com identity), ``Google`` (email). Any other Sigstore
    identity is ``{"kind": "Sigstore", "identity": ..., "issuer": ...}`` (a kind PyPI does not
    define: Vouch's personal identity publishers)."""
    if isinstance(publisher, GitHubPublisher):
        return {"kind": "GitHub", "repository": publisher.repository,
                "workflow": publisher.workflow, "environment": publisher.environment}
    if isinstance(publisher, GenericIdentity) and publisher.san is not None:
        san, issuer = publisher.san, publisher.issuer
        prefix = f"{_GITLAB_ISSUER}/"
        if issuer == _GITLAB_ISSUER and san.startswith(prefix) and "//" in san[len(prefix):]:
            repository, _, rest = san[len(prefix):].partition("//")
            filepath = rest.rpartition("@")[0] or rest
            return {"kind": "GitLab", "repository": repository, "workflow_filepath": filepath,
                    "environment": None}
        if issuer == _GOOGLE_ISSUER:
            return {"kind": "Google", "email": san}
        return {"kind": "Sigstore", "identity": san, "issuer": issuer}
    return {"kind": "Sigstore", "identity": publisher.describe()}


def provenance_bundles(verified: Sequence[VerifiedAttestation]) -> list[ProvenanceBundle]:
    """Group verified attestations by the publisher that signed them (upload order kept)."""
    groups: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    for item in verified:
        publisher = publisher_object(item.publisher)
        key = json.dumps(publisher, sort_keys=True)
        groups.setdefault(key, (publisher, []))[1].append(item.attestation)
    return [ProvenanceBundle(publisher=publisher, attestations=tuple(atts))
            for publisher, atts in groups.values()]


def provenance_object(bundles: Sequence[ProvenanceBundle]) -> dict[str, Any]:
    """The PEP 740 provenance object: ``{"version": 1, "attestation_bundles": [...]}``."""
    return {"version": 1,
            "attestation_bundles": [{"publisher": bundle.publisher,
                                     "attestations": list(bundle.attestations)}
                                    for bundle in bundles]}

