"""Signature evidence on publish: what the client sent, what was verified, and the hook.

    with session_scope(engine) as session:
        verification = checker.prepare(session, ctx)    # loads what the policy needs
    verified = verification()                           # gpg / sigstore / Rekor: no session
    with session_scope(engine, write=True) as session:
        verified = checker.confirm(session, ctx, verified)   # re-checked where it is written

The registry asks a ``SignatureChecker`` to decide; it raises ``SignatureRejected`` (with a
stable code such as ``signature_required``) and never returns a half-verified result. The
cryptography (up to 30 s of gpg, 5 s of online Rekor) runs with no database connection held;
what could change meanwhile (a key revoked, a trusted publisher removed) is checked again in
the write transaction that records the version (issue 11).
"""

from __future__ import annotations

from collections.abc import Callable
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
    #: What to tell an uploader who sent nothing, in their client's terms (None: the native
    #: API's parts); a format's upload route sets it.
    how_to_sign: str | None = None

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
    # The trusted-publisher rows a Sigstore identity was checked against (not stored):
    # ``confirm`` requires that they all still act when the version is written.
    checked_publishers: tuple[int, ...] = ()


#: The verification step, prepared with what it needs; runs without a database session.
Verification = Callable[[], "VerifiedEvidence | None"]


@dataclass(frozen=True)
class PublishContext:
    name: PackageName
    ecosystem: str  # the package format's (``generic``, ``pypi``, ``npm``)
    package: Package | None
    version: str
    filename: str  # the name the registry stores the file under
    upload_filename: str  # the client's name for it (a DSSE subject names this)
    staged: Staged
    evidence: Evidence
    principal: Principal
    now: datetime


class SignatureChecker(Protocol):
    def prepare(self, session: Session, ctx: PublishContext) -> Verification:
        """Decide what ``ctx.evidence`` must satisfy and load it; raises ``SignatureRejected``
        for what needs no cryptography (missing, ambiguous, method not allowed)."""
        ...

    def confirm(self, session: Session, ctx: PublishContext,
                verified: VerifiedEvidence | None) -> VerifiedEvidence | None:
        """Inside the write transaction: what ``verified`` relied on still holds (the key is
        not revoked, the publishers still act); raises ``SignatureRejected`` otherwise."""
        ...

    def verifies_in_process(self, evidence: Evidence) -> bool:
        """Whether checking ``evidence`` is CPU work in this process alone (no gpg
        subprocess, no online log lookup), with what it needs loaded now: then a publish
        may check it inside the transaction that records (issue 13); otherwise it runs with
        no connection held (issue 11)."""
        ...
