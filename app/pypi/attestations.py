"""PEP 740 attestations on a Python upload, under the package's signature policy.

    checker = AttestationSignatureChecker.around(registry.publish.signatures)
    evidence = UploadEvidence(attestations=form["attestations"].encode())   # or gpg_signature
    # PublishService.publish_staged(..., evidence, ...) with ``checker`` as its checker:
    verification = checker.prepare(session, ctx)     # read session: policy + publishers
    verified = verification()                        # no session: the cryptography
    verified = checker.confirm(session, ctx, verified)   # write transaction: still acting?

An upload's ``attestations`` field (what ``twine upload --attestations`` and ``uv publish``
send) is Sigstore evidence: the package's policy decides as for a native bundle (``gpg``
refuses it with ``signature_method_not_allowed``; ``sigstore`` and ``any`` accept it), and it
is verified against the same trusted publishers a bundle is (``publisher_rules``: the acting
publishers of the name, or only the minting workflow's for a token minted by the OIDC
exchange), turned into identity policies by ``app.trust.identities`` (repository, workflow,
ref pattern and the bound repository owner id), with the registry's own trust root and
online Rekor check (those of its ``RegistryEvidenceVerifier``). Everything else (unsigned, a
GPG signature, a bundle) goes to the wrapped checker unchanged.

The verified value is ordinary ``VerifiedEvidence`` (method ``sigstore``): ``raw`` is the PEP
740 provenance object (publisher + attestations) that ``/integrity/.../provenance`` serves,
``identity`` the signer of the first attestation plus the predicate types, and
``checked_publishers`` lets the wrapped checker's ``confirm`` re-check in the write
transaction that every publisher it relied on still acts.

Refusals are ``SignatureRejected`` (400): ``signature_ambiguous`` (attestations and another
signature), ``no_trusted_publisher``, ``signature_method_not_allowed``, and the library's
codes (``invalid_attestations``, ``signature_malformed``, ``signature_unsupported``,
``artifact_mismatch``, ``identity_mismatch``, ``certificate_invalid``, ``tlog_invalid`` ...),
each detail starting with PyPI's "Invalid attestations supplied during upload"; a
fail-closed Rekor check that cannot reach the log is 503 ``rekor_unavailable``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlmodel import Session

from app.core.errors import SignatureRejected
from app.core.models import TrustedPublisher
from app.trust import publisher_rules
from app.trust.errors import signature_rejected
from app.trust.evidence import Evidence, PublishContext, Verification, VerifiedEvidence
from app.trust.identities import publisher_policy
from app.trust.signatures import PolicySignatureChecker, effective_policy, require_method
from app.trust.verifier import LogCheck, RegistryEvidenceVerifier
from app.trust.verifier import _sigstore_identity as sigstore_identity  # the one identity shape
from signing.errors import VerificationError

if TYPE_CHECKING:
    # pypi_attestations and sigstore load with the first attestation (issue 13: idle memory).
    from formats.pypi.attestations import VerifiedAttestation
    from signing.trust import TrustRoot

#: PyPI's wording (warehouse forklift), which twine shows from the status line.
REJECTED = "Invalid attestations supplied during upload"


@dataclass(frozen=True)
class UploadEvidence(Evidence):
    """A Python upload's signature material: an ``attestations`` JSON array (PEP 740) or, as
    for native publishes, a detached GPG signature."""

    attestations: bytes | None = None

    @property
    def empty(self) -> bool:
        return super().empty and self.attestations is None


class AttestationSignatureChecker:
    """A ``SignatureChecker`` that verifies PEP 740 attestations and delegates the rest."""

    def __init__(self, inner: PolicySignatureChecker, trust: TrustRoot | None,
                 log_check: LogCheck | None = None) -> None:
        self.inner = inner
        self.trust = trust
        self.log_check = log_check

    @classmethod
    def around(cls, checker: PolicySignatureChecker) -> AttestationSignatureChecker:
        """Wrap the registry's checker, verifying with its trust root and Rekor check (one
        trust configuration for bundles and attestations). Without a Sigstore verifier
        (tests' bare checkers) attestations are refused as ``signature_unsupported``."""
        verifier = checker.verifier
        if isinstance(verifier, RegistryEvidenceVerifier):
            return cls(checker, verifier.trust, verifier.log_check)
        return cls(checker, None, None)

    def verifies_in_process(self, evidence: Evidence) -> bool:
        """Attestations are checked with no connection held, as always; anything else as
        the wrapped checker says."""
        if getattr(evidence, "attestations", None) is not None:
            return False
        return self.inner.verifies_in_process(evidence)

    def prepare(self, session: Session, ctx: PublishContext) -> Verification:
        """The check for ``ctx.evidence``: attestations are prepared here (policy, acting
        publishers), anything else by the wrapped checker. Raises ``SignatureRejected``."""
        evidence = ctx.evidence
        attestations = getattr(evidence, "attestations", None)
        if attestations is None:
            return self.inner.prepare(session, ctx)
        if evidence.sigstore_bundle is not None or evidence.gpg_signature is not None:
            raise SignatureRejected("signature_ambiguous", "send either attestations or a GPG "
                                    "signature, not both")
        require_method(effective_policy(session, ctx, self.inner.default_policy), "sigstore",
                       ctx.name.full)
        trust = self.trust
        if trust is None:
            raise SignatureRejected("signature_unsupported",
                                    "attestation verification is not configured here")
        publishers = _publishers(session, ctx)
        if not publishers:
            raise SignatureRejected(
                "no_trusted_publisher",
                f"{REJECTED}: {ctx.name.full} has no trusted publisher, so no Sigstore "
                "identity is trusted for it: register one with `vouch trusted-publisher add`")
        policies = [publisher_policy(p) for p in publishers]
        checked = tuple(sorted(p.id for p in publishers if p.id is not None))

        def verify() -> VerifiedEvidence:
            from formats.pypi.attestations import verify_attestations

            trust.load()  # a root sigstore-python refuses is the server's fault: a 500
            try:
                verified = verify_attestations(
                    attestations, filename=ctx.upload_filename, sha256=ctx.staged.sha256,
                    publishers=policies, trust=trust, now=ctx.now)
                if self.log_check is not None:
                    for item in verified:
                        self.log_check(item.bundle.encode(), item.sigstore)
            except VerificationError as err:
                raise signature_rejected(err, REJECTED) from err
            return _evidence(verified, checked)

        return verify

    def confirm(self, session: Session, ctx: PublishContext,
                verified: VerifiedEvidence | None) -> VerifiedEvidence | None:
        """The wrapped checker's re-check (a Sigstore identity's publishers still act)."""
        return self.inner.confirm(session, ctx, verified)


def _publishers(session: Session, ctx: PublishContext) -> list[TrustedPublisher]:
    """Exactly the publishers ``RegistryEvidenceVerifier.confirm`` re-checks: the minting
    workflow's for an OIDC-minted token, else every acting publisher of the name."""
    if ctx.principal.trusted_publisher_id is not None:
        return publisher_rules.token_publishers(session, ctx.principal, ctx.name.full, ctx.now)
    return publisher_rules.acting_publishers_for(session, ctx.name.full, ctx.now)


def _evidence(verified: list[VerifiedAttestation], checked: tuple[int, ...]) -> VerifiedEvidence:
    from formats.pypi.attestations import provenance_bundles, provenance_object

    first = verified[0].sigstore
    provenance = provenance_object(provenance_bundles(verified))
    identity = {**sigstore_identity(first),
                "predicate_types": [item.predicate_type for item in verified],
                "publishers": [bundle["publisher"]
                               for bundle in provenance["attestation_bundles"]]}
    return VerifiedEvidence(method="sigstore", raw=json.dumps(provenance, sort_keys=True),
                            identity=identity, log_index=first.log_index, log_id=first.log_id,
                            integrated_time=first.integrated_time, checked_publishers=checked)
