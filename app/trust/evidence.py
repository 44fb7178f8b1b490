"""Signature evidence on publish: what the client sent, what was verified, and the hook.

    verified = checker.check(session, ctx)   # VerifiedEvidence, or None if unsigned is allowed

The registry asks a ``SignatureChecker`` to decide; it raises ``SignatureRejected`` (with a
stable code such as ``signature_required``) and never returns a half-verified result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlmodel import Session

from app.accounts.service import Principal
from app.core.models import Package
from app.publishing.names import PackageName
from app.publishing.staging import Staged


@dataclass(frozen=True)
class Evidence:
    """Unverified signature material sent with an upload."""

    sigstore_bundle: bytes | None = None
    gpg_signature: bytes | None = None

    @property
    def empty(self) -> bool:
        return self.sigstore_bundle is None and self.gpg_signature is None


@dataclass(frozen=True)
class VerifiedEvidence:
    """What a verifier established; stored as the file's provenance."""

    method: str  # sigstore | gpg
    raw: str
    identity: dict[str, Any] = field(default_factory=dict)
    log_index: int | None = None
    log_id: str | None = None
    integrated_time: datetime | None = None


@dataclass(frozen=True)
class PublishContext:
    name: PackageName
    package: Package | None
    version: str
    filename: str  # the name the registry stores the file under
    upload_filename: str  # the client's name for it (a DSSE subject names this)
    staged: Staged
    evidence: Evidence
    principal: Principal
    now: datetime


class SignatureChecker(Protocol):
    def check(self, session: Session, ctx: PublishContext) -> VerifiedEvidence | None:
        """Verify ``ctx.evidence`` as the package's policy demands; raises ``SignatureRejected``."""
        ...
