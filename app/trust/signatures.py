"""The signature policy on publish: which evidence a package demands, and who checks it.

Policy, most specific first: the package's own, its scope org's, the registry default
(``VOUCH_DEFAULT_SIGNATURE_POLICY``). ``none`` accepts unsigned uploads (development only: the
default is refused by ``Settings``, a package's or org's by ``TrustService.set_policy``);
``any`` demands a verified Sigstore bundle or GPG signature. The names are written once, as
``app.core.config.SignaturePolicyName``.
"""

from __future__ import annotations

from typing import Protocol, get_args

from sqlalchemy import bindparam, select
from sqlmodel import Session

from app.core import driver_sql
from app.core.config import SignaturePolicyName
from app.core.errors import SignatureRejected
from app.core.models import Org
from app.trust import pending_policies
from app.trust.evidence import PublishContext, Verification, VerifiedEvidence

POLICIES: tuple[str, ...] = get_args(SignaturePolicyName)
_ORGS = Org.__table__  # type: ignore[attr-defined]
_ORG_POLICY = select(_ORGS.c.signature_policy).where(_ORGS.c.name == bindparam("scope"))


class EvidenceVerifier(Protocol):
    """The cryptography, in two halves around the database: ``prepare_*`` loads what the
    check needs (in a read session) and returns the check, which runs with no session;
    ``confirm`` re-checks in the write transaction what may have changed meanwhile."""

    def prepare_sigstore(self, session: Session, ctx: PublishContext) -> Verification: ...

    def prepare_gpg(self, session: Session, ctx: PublishContext) -> Verification: ...

    def confirm(self, session: Session, ctx: PublishContext,
                verified: VerifiedEvidence) -> VerifiedEvidence: ...


def effective_policy(session: Session, ctx: PublishContext, default: str) -> str:
    if ctx.package is not None and ctx.package.signature_policy:
        return ctx.package.signature_policy
    if ctx.package is None:  # a first publish: the publisher's own pending policy, if any
        pending = pending_policies.pending_for(session, ctx.name.full, ctx.principal, ctx.now)
        if pending is not None:
            return pending
    if ctx.name.scope is not None:
        org_policy = driver_sql.scalar(session, _ORG_POLICY, {"scope": ctx.name.scope})
        if org_policy:
            return str(org_policy)
    return default


class PolicySignatureChecker:
    """Applies the policy; delegates the cryptography to an ``EvidenceVerifier``."""

    def __init__(self, default_policy: str, verifier: EvidenceVerifier | None) -> None:
        self.default_policy = default_policy
        self.verifier = verifier

    def prepare(self, session: Session, ctx: PublishContext) -> Verification:
        """The verification ``ctx.evidence`` needs under the package's policy (``None``
        policy and no evidence: a check that returns None); raises ``SignatureRejected``."""
        policy = effective_policy(session, ctx, self.default_policy)
        evidence = ctx.evidence
        if evidence.sigstore_bundle is not None and evidence.gpg_signature is not None:
            raise SignatureRejected("signature_ambiguous",
                                    "send either a Sigstore bundle or a GPG signature, not both")
        if evidence.empty:
            if policy == "none":
                return _unsigned
            raise SignatureRejected(
                "signature_required",
                f"{ctx.name.full} requires a signature (policy {policy!r}): "
                + (evidence.how_to_sign or "send a Sigstore bundle (sigstore_bundle) or a "
                   "detached GPG signature (gpg_signature)"),
            )
        if self.verifier is None:
            raise SignatureRejected("signature_unsupported",
                                    "signature verification is not configured on this registry")
        if evidence.sigstore_bundle is not None:
            if policy == "gpg":
                raise SignatureRejected("signature_method_not_allowed",
                                        f"{ctx.name.full} accepts only GPG signatures")
            return self.verifier.prepare_sigstore(session, ctx)
        if policy == "sigstore":
            raise SignatureRejected("signature_method_not_allowed",
                                    f"{ctx.name.full} accepts only Sigstore bundles")
        return self.verifier.prepare_gpg(session, ctx)

    def confirm(self, session: Session, ctx: PublishContext,
                verified: VerifiedEvidence | None) -> VerifiedEvidence | None:
        """Re-check, in the write transaction, what ``verified`` relied on."""
        if verified is None or self.verifier is None:
            return verified
        return self.verifier.confirm(session, ctx, verified)


def _unsigned() -> None:
    return None
