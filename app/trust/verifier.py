"""Cryptographic checks on publish, with ``signing``: Sigstore against trusted publishers,
GPG against the owners' registered keys.

    verifier = RegistryEvidenceVerifier(trust=TrustRoot.public_good())

Every ``signing.VerificationError`` becomes ``SignatureRejected`` carrying the library's
stable code (``identity_mismatch``, ``signature_invalid``, ``key_revoked`` ...). Nothing is
stored by this step; the publish service stores the verified value afterwards.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from dataclasses import replace
from importlib import import_module
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, select
from sqlmodel import Session

from app.core.errors import SignatureRejected
from app.core.models import GpgKey, Membership, Org, PackageOwner, TrustedPublisher
from app.trust import gpg_keys, publisher_rules
from app.trust.errors import InvalidPublisher, signature_rejected
from app.trust.evidence import PublishContext, Verification, VerifiedEvidence
from app.trust.identities import publisher_policy
from signing.errors import KeyUnknown, VerificationError
from signing.gpg import VerifiedGpg, verify_detached
from signing.policy import AnyOf, IdentityPolicy

if TYPE_CHECKING:
    # sigstore-python loads with the first Sigstore verification (issue 13: idle memory).
    from signing.sigstore import VerifiedSigstore
    from signing.trust import TrustRoot

log = logging.getLogger("vouch.signing")

#: Optional online transparency-log confirmation: called with the bundle and the verified
#: value; raises ``VerificationError`` when the entry is not in the log.
LogCheck = Callable[[bytes, "VerifiedSigstore"], None]


class RegistryEvidenceVerifier:
    def __init__(self, trust: TrustRoot, log_check: LogCheck | None = None) -> None:
        self.trust = trust
        self.log_check = log_check

    # -- Sigstore ---------------------------------------------------------------------------
    def prepare_sigstore(self, session: Session, ctx: PublishContext) -> Verification:
        """The acting publishers' identities, loaded now; the returned check verifies the
        bundle (and asks the online log) with no session."""
        assert ctx.evidence.sigstore_bundle is not None
        publishers = self._publishers(session, ctx)
        if not publishers:
            raise SignatureRejected(
                "no_trusted_publisher",
                f"{ctx.name.full} has no trusted publisher, so no Sigstore identity is trusted "
                "for it: register one with `vouch trusted-publisher add`")
        # The owner id binding holds for bundles too, whatever token uploads them (issue 9).
        policy: IdentityPolicy = AnyOf([publisher_policy(p) for p in publishers])
        checked = tuple(sorted(p.id for p in publishers if p.id is not None))
        bundle = ctx.evidence.sigstore_bundle

        def verify() -> VerifiedEvidence:
            from signing.sigstore import verify_bundle

            self.trust.load()  # a root sigstore-python refuses is the server's fault: a 500
            try:
                verified = verify_bundle(bundle, ctx.staged.sha256, ctx.upload_filename,
                                         policy, self.trust,
                                         artifact_sha512=ctx.staged.sha512, now=ctx.now)
                if self.log_check is not None:
                    self.log_check(bundle, verified)
            except VerificationError as err:
                raise signature_rejected(err, "Sigstore verification failed") from err
            return VerifiedEvidence(
                method="sigstore", raw=bundle.decode(),
                identity=_sigstore_identity(verified), log_index=verified.log_index,
                log_id=verified.log_id, integrated_time=verified.integrated_time,
                checked_publishers=checked)

        return verify

    def sigstore_in_process(self) -> bool:
        """Bundles are checked offline unless an online Rekor lookup is configured
        (``rekor_mode``, up to seconds a bundle). Offline, sigstore-python and the trust
        root are loaded here, outside any transaction (a worker's first bundle: 0.2-0.4 s),
        so that a check is then about 1.5 ms of CPU. A root sigstore-python refuses raises
        here, as the check would (the server's fault: a 500)."""
        if self.log_check is not None:
            return False
        import_module("signing.sigstore")
        self.trust.load()
        return True

    def confirm(self, session: Session, ctx: PublishContext,
                verified: VerifiedEvidence) -> VerifiedEvidence:
        """In the write transaction: a Sigstore identity's publishers all still act (one
        removed or stopped acting while the bundle was checked, e.g. invalidated by another
        account's claim of the name: 403 ``invalid_publisher``, fail closed); a GPG
        key is not revoked now, and its owner is recorded."""
        if verified.method == "sigstore":
            if not set(verified.checked_publishers) <= self._acting(session, ctx,
                                                                    verified.checked_publishers):
                raise InvalidPublisher(
                    "a trusted publisher of this package was removed or stopped acting while "
                    "the signature was checked (for example, another account claimed the name)")
            return verified
        fingerprints = [verified.identity["fingerprint"], verified.identity["signing_key"]]
        # A fingerprint, once revoked by its owner, is refused whoever holds a copy (issue 9).
        revoked_fpr = gpg_keys.revoked_among(session, fingerprints)
        if revoked_fpr is not None:
            raise SignatureRejected("key_revoked", f"the signing key {revoked_fpr} was "
                                    "revoked in this registry")
        owner = session.execute(_KEY_OWNER,
                                {"fingerprint": verified.identity["fingerprint"]}).scalar()
        return replace(verified, identity={**verified.identity, "key_owner_id": owner})

    def _publishers(self, session: Session, ctx: PublishContext) -> list[TrustedPublisher]:
        """The publishers whose bundles may vouch for this upload: those of the package (or
        its scope) that act for their registrant now (``publisher_rules``). A token minted
        from a workflow's OIDC token only vouches for bundles from that same workflow (it
        may cover several packages whose publishers name it)."""
        if ctx.principal.trusted_publisher_id is not None:
            return publisher_rules.token_publishers(session, ctx.principal, ctx.name.full,
                                                    ctx.now)
        return publisher_rules.acting_publishers_for(session, ctx.name.full, ctx.now)

    def _acting(self, session: Session, ctx: PublishContext, ids: tuple[int, ...]) -> set[int]:
        """Those of ``ids`` that are among ``_publishers`` now. A user's upload loads just
        those rows (``acting_among``); a minted token's needs its workflow's publishers."""
        if ctx.principal.trusted_publisher_id is not None:
            return {p.id for p in self._publishers(session, ctx) if p.id is not None}
        return publisher_rules.acting_among(session, ids, ctx.name.full, ctx.now)

    # -- GPG --------------------------------------------------------------------------------
    def prepare_gpg(self, session: Session, ctx: PublishContext) -> Verification:
        """The maintainers' keys (active and revoked), loaded now; the returned check runs
        gpg with no session. The revocation and the key's owner are settled in ``confirm``."""
        assert ctx.evidence.gpg_signature is not None
        active, revoked = self._keys(session, ctx)
        signature = ctx.evidence.gpg_signature

        def verify() -> VerifiedEvidence:
            try:
                try:
                    verified = self._gpg(ctx, active)
                except KeyUnknown:
                    # Signed by a key the registry revoked? Say so precisely.
                    if revoked and self._signed_by_any(ctx, revoked):
                        raise SignatureRejected("key_revoked", "the signing key was revoked "
                                                "in this registry") from None
                    raise
            except VerificationError as err:
                raise signature_rejected(err, "GPG verification failed") from err
            return VerifiedEvidence(
                method="gpg", raw=_armored_text(signature),
                identity={"fingerprint": verified.fingerprint,
                          "signing_key": verified.signing_key_fingerprint,
                          "user_id": verified.signer, "key_owner_id": None},
                integrated_time=verified.signed_at)

        return verify

    def _gpg(self, ctx: PublishContext, keys: list[str]) -> VerifiedGpg:
        if not keys:
            raise KeyUnknown("no active GPG key is registered for the owners of this package")
        assert ctx.evidence.gpg_signature is not None
        return verify_detached(ctx.staged.path, ctx.evidence.gpg_signature, keys, now=ctx.now)

    def _signed_by_any(self, ctx: PublishContext, keys: list[str]) -> bool:
        try:
            self._gpg(ctx, keys)
        except VerificationError as err:
            log.info("not signed by a revoked key either: %s", err)
            return False
        return True

    def _keys(self, session: Session, ctx: PublishContext) -> tuple[list[str], list[str]]:
        """Armored keys of the people who may publish the package: (active, revoked)."""
        user_ids = set(_maintainer_ids(session, ctx))
        if ctx.principal.user_id is not None:
            user_ids &= {ctx.principal.user_id}  # the publisher signs with their own key
        rows = session.execute(_KEYS_OF, {"user_ids": sorted(user_ids)}).all()
        active = [r.armored for r in rows if r.revoked_at is None]
        revoked = [r.armored for r in rows if r.revoked_at is not None]
        return active, revoked


def _maintainer_ids(session: Session, ctx: PublishContext) -> list[int]:
    if ctx.name.scope is not None:  # the members of the scope's org (none: no org)
        return list(session.execute(_SCOPE_MEMBERS, {"scope": ctx.name.scope}).scalars())
    if ctx.package is None:  # first publish: the publisher becomes the owner
        return [ctx.principal.user_id] if ctx.principal.user_id is not None else []
    return list(session.execute(_OWNER_IDS, {"package_id": ctx.package.id}).scalars())


# Statements built once (issue 13).
_GPG_KEYS, _ORGS = GpgKey.__table__, Org.__table__  # type: ignore[attr-defined]
_MEMBERS, _OWNERS = Membership.__table__, PackageOwner.__table__  # type: ignore[attr-defined]
_KEY_OWNER = select(_GPG_KEYS.c.user_id).where(
    _GPG_KEYS.c.fingerprint == bindparam("fingerprint"), _GPG_KEYS.c.revoked_at.is_(None)
).limit(1)
_KEYS_OF = select(_GPG_KEYS.c.armored, _GPG_KEYS.c.revoked_at).where(
    _GPG_KEYS.c.user_id.in_(bindparam("user_ids", expanding=True))).order_by(_GPG_KEYS.c.id)
_SCOPE_MEMBERS = (select(_MEMBERS.c.user_id)
                  .select_from(_MEMBERS.join(_ORGS, _ORGS.c.id == _MEMBERS.c.org_id))
                  .where(_ORGS.c.name == bindparam("scope")))
_OWNER_IDS = select(_OWNERS.c.user_id).where(_OWNERS.c.package_id == bindparam("package_id"))


def _sigstore_identity(verified: VerifiedSigstore) -> dict[str, Any]:
    github = None
    if verified.github is not None:
        g = verified.github
        github = {"repository": g.repository, "workflow_ref": g.workflow_ref,
                  "job_workflow_ref": g.job_workflow_ref, "ref": g.ref, "sha": g.sha,
                  "trigger": g.trigger, "run_invocation_uri": g.run_invocation_uri,
                  "repository_owner_id": g.repository_owner_id}
    return {"identity": verified.identity, "issuer": verified.issuer, "github": github,
            "entry_kind": verified.entry_kind, "predicate_type": verified.predicate_type}


def _armored_text(signature: bytes) -> str:
    """Store binary signatures armored-equivalent (base64) so the column stays text."""
    try:
        return signature.decode("ascii")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(signature).decode()

