"""The signature policy on publish: which evidence a package demands, and who checks it.

Policy, most specific first: the package's own (before its first version: the publisher's own
pending policy), its scope org's, the registry default (``VOUCH_DEFAULT_SIGNATURE_POLICY``).
``none`` accepts unsigned uploads (development only: the default is refused by ``Settings``, a
package's or org's by ``TrustService.set_policy``); ``any`` demands a verified Sigstore bundle
or GPG signature. The names are written once, as ``app.core.config.SignaturePolicyName``.

For a signed upload the policy is read twice: in the read session, to refuse early and
prepare the check (``effective_policy``), and again in the write transaction (``policy_now``),
because the check runs with no session and an owner may tighten the policy meanwhile. An
unsigned upload on PostgreSQL is checked inside its recording transaction, so
``effective_policy`` read there is the policy in force (``PublishService``).
"""

from __future__ import annotations

from typing import Protocol, get_args

from sqlalchemy import bindparam, exists, select
from sqlmodel import Session

from app.core import driver_sql
from app.core.config import SignaturePolicyName
from app.core.errors import SignatureRejected
from app.core.models import Org, Package, PendingPolicy
from app.trust import pending_policies
from app.trust.evidence import Evidence, PublishContext, Verification, VerifiedEvidence

POLICIES: tuple[str, ...] = get_args(SignaturePolicyName)
_ORGS = Org.__table__  # type: ignore[attr-defined]
_PACKAGES = Package.__table__  # type: ignore[attr-defined]
_ORG_POLICY = select(_ORGS.c.signature_policy).where(_ORGS.c.name == bindparam("scope"))
_THE_PACKAGE = ((_PACKAGES.c.ecosystem == bindparam("ecosystem"))
                & (_PACKAGES.c.name == bindparam("name")))
_POLICIES_NOW = select(
    exists().where(_THE_PACKAGE).label("package_exists"),
    select(_PACKAGES.c.signature_policy).where(_THE_PACKAGE).scalar_subquery()
    .label("package_policy"),
    _ORG_POLICY.scalar_subquery().label("org_policy"),
)

_PENDING = PendingPolicy.__table__  # type: ignore[attr-defined]
_NEW_NAME_POLICIES = select(
    select(_PENDING.c.policy).where(pending_policies.OWN).scalar_subquery()
    .label("pending_policy"),
    select(_PENDING.c.expires_at).where(pending_policies.OWN).scalar_subquery()
    .label("pending_expires_at"),
    _ORG_POLICY.scalar_subquery().label("org_policy"),
)


class EvidenceVerifier(Protocol):
    """The cryptography, in two halves around the database: ``prepare_*`` loads what the
    check needs (in a read session) and returns the check, which runs with no session;
    ``confirm`` re-checks in the write transaction what may have changed meanwhile."""

    def prepare_sigstore(self, session: Session, ctx: PublishContext) -> Verification: ...

    def prepare_gpg(self, session: Session, ctx: PublishContext) -> Verification: ...

    def sigstore_in_process(self) -> bool:
        """Whether a bundle's check is CPU work in this process alone (no online log
        lookup), having loaded what it needs."""
        ...

    def confirm(self, session: Session, ctx: PublishContext,
                verified: VerifiedEvidence) -> VerifiedEvidence: ...


def effective_policy(session: Session, ctx: PublishContext, default: str) -> str:
    """The policy the read session sees: the package's as the authorization read it (none:
    the publisher's own pending policy), else the scope org's, else ``default``."""
    if ctx.package is not None:
        return ctx.package.signature_policy or _org_policy(session, ctx) or default
    return _new_name_policy(session, ctx) or default


def policy_now(session: Session, ctx: PublishContext, default: str) -> str:
    """The policy in force inside the publish's write transaction, read again: it may have
    been changed while the signature was verified with no session. One statement reads the
    package's and the scope org's policies. Like the other re-checks of the write
    transaction it takes no row lock: on PostgreSQL a change committed between this read and
    the commit (milliseconds) applies to the next publish. A ``FOR SHARE`` here could
    deadlock with a policy change on a name that exists in two formats (the change updates
    one package row, bumping the name's generation, then waits for this one; the publish's
    own generation bump then waits for the change)."""
    row = driver_sql.first(session, _POLICIES_NOW, {
        "ecosystem": ctx.ecosystem, "name": ctx.name.full, "scope": ctx.name.scope})
    assert row is not None  # one row of scalar subqueries
    if row.package_exists:
        return str(row.package_policy or row.org_policy or default)
    pending = pending_policies.pending_for(session, ctx.name.full, ctx.principal, ctx.now)
    return str(pending or row.org_policy or default)


def require_method(policy: str, method: str | None, name: str,
                   how_to_sign: str | None = None) -> None:
    """Raise ``SignatureRejected`` unless ``policy`` accepts evidence of ``method``
    (``sigstore``, ``gpg``; None: unsigned): ``signature_required`` for an unsigned upload
    under a policy other than ``none``, ``signature_method_not_allowed`` for the other
    method under ``gpg`` or ``sigstore``."""
    if method is None:
        if policy == "none":
            return
        raise SignatureRejected(
            "signature_required",
            f"{name} requires a signature (policy {policy!r}): "
            + (how_to_sign or "send a Sigstore bundle (sigstore_bundle) or a detached GPG "
               "signature (gpg_signature)"))
    if policy == "gpg" and method != "gpg":
        raise SignatureRejected("signature_method_not_allowed",
                                f"{name} accepts only GPG signatures")
    if policy == "sigstore" and method != "sigstore":
        raise SignatureRejected("signature_method_not_allowed",
                                f"{name} accepts only Sigstore bundles")


def _new_name_policy(session: Session, ctx: PublishContext) -> str | None:
    """Before a package's first version: the publisher's own pending policy, else the scope
    org's (one statement reads both)."""
    who = pending_policies.registrant(session, ctx.principal)
    if who is None:
        return _org_policy(session, ctx)
    row = driver_sql.first(session, _NEW_NAME_POLICIES, {
        "name": ctx.name.full, "who": who, "scope": ctx.name.scope})
    assert row is not None  # one row of scalar subqueries
    return (pending_policies.unexpired(row.pending_policy, row.pending_expires_at, ctx.now)
            or (str(row.org_policy) if row.org_policy else None))


def _org_policy(session: Session, ctx: PublishContext) -> str | None:
    if ctx.name.scope is None:
        return None
    found = driver_sql.scalar(session, _ORG_POLICY, {"scope": ctx.name.scope})
    return str(found) if found else None


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
        method = ("sigstore" if evidence.sigstore_bundle is not None
                  else "gpg" if evidence.gpg_signature is not None else None)
        require_method(policy, method, ctx.name.full, evidence.how_to_sign)
        if method is None:
            return _unsigned
        if self.verifier is None:
            raise SignatureRejected("signature_unsupported",
                                    "signature verification is not configured on this registry")
        if method == "sigstore":
            return self.verifier.prepare_sigstore(session, ctx)
        return self.verifier.prepare_gpg(session, ctx)

    def confirm(self, session: Session, ctx: PublishContext,
                verified: VerifiedEvidence | None) -> VerifiedEvidence | None:
        """Re-check, in the write transaction, what ``verified`` relied on: the policy now
        (``policy_now``: one tightened meanwhile refuses the upload as it would have refused
        it before the check, ``require_method``), then the verifier's premises."""
        require_method(policy_now(session, ctx, self.default_policy),
                       verified.method if verified is not None else None, ctx.name.full,
                       ctx.evidence.how_to_sign)
        if verified is None or self.verifier is None:
            return verified
        return self.verifier.confirm(session, ctx, verified)

    def verifies_in_process(self, evidence: Evidence) -> bool:
        """Nothing to check, or a Sigstore bundle that the verifier checks offline. Never a
        GPG signature (a gpg subprocess, up to 30 s)."""
        if evidence.empty:
            return True
        if evidence.gpg_signature is not None or self.verifier is None:
            return False
        return self.verifier.sigstore_in_process()


def _unsigned() -> None:
    return None
