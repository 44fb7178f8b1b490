"""Signatures on Python uploads, under the package's signature policy as for native publishes.

    checker = PyPISignatureChecker(registry.publish.signatures)
    evidence = PyPIEvidence(gpg_signature=asc_bytes)          # twine's <dist>.asc part
    evidence = PyPIEvidence(attestations=b'[{...}]')           # PEP 740, twine/uv
    publish.publish_staged(plan, staged, evidence, principal, rules, signatures=checker)

A GPG ``.asc`` goes to the registry's own checker unchanged (policy, registered keys, revoked
and expired keys: ``app.trust``). PEP 740 attestations are verified by ``app.pypi.attestations``
(helper B's module: it applies the policy and the trusted publishers, and returns the PEP 740
provenance object as the evidence to store); while that module is absent, attestations are
refused with 400 ``signature_unsupported``. Attestations together with a GPG signature are
``signature_ambiguous``. Confirmation in the write transaction is the registry's, for both.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from app.core.errors import SignatureRejected
from app.trust.evidence import (
    Evidence,
    PublishContext,
    SignatureChecker,
    Verification,
    VerifiedEvidence,
)


@dataclass(frozen=True)
class PyPIEvidence(Evidence):
    """Evidence plus the legacy upload's ``attestations`` field (a JSON array, as sent)."""

    attestations: bytes | None = None

    @property
    def empty(self) -> bool:
        return super().empty and self.attestations is None


class PyPISignatureChecker:
    """The registry's checker, plus PEP 740 attestations."""

    def __init__(self, base: SignatureChecker) -> None:
        self.base = base

    def prepare(self, session: Session, ctx: PublishContext) -> Verification:
        evidence = ctx.evidence
        attestations = getattr(evidence, "attestations", None)
        if attestations is None:
            return self.base.prepare(session, ctx)
        if evidence.gpg_signature is not None or evidence.sigstore_bundle is not None:
            raise SignatureRejected("signature_ambiguous",
                                    "send either attestations or a GPG signature, not both")
        module = _attestations_module()
        if module is None:
            raise SignatureRejected("signature_unsupported",
                                    "PEP 740 attestations are not verified by this registry yet")
        verification: Verification = module.prepare(session, ctx, attestations)
        return verification

    def confirm(self, session: Session, ctx: PublishContext,
                verified: VerifiedEvidence | None) -> VerifiedEvidence | None:
        return self.base.confirm(session, ctx, verified)


def _attestations_module() -> Any:
    try:
        return importlib.import_module("app.pypi.attestations")
    except ModuleNotFoundError as err:
        if err.name != "app.pypi.attestations":
            raise
        return None
