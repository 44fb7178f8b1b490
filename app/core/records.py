"""Append-only audit events and outbox rows, written inside the caller's transaction, and the
audit event's wire model (``AuditEventPublic``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlmodel import Session

from app.core.models import AuditEvent, OutboxItem


def audit(
    session: Session,
    *,
    at: datetime,
    actor: str | None,
    action: str,
    package: str | None = None,
    version: str | None = None,
    **details: Any,
) -> None:
    """Record one state change. Never put secrets in ``details``."""
    session.add(
        AuditEvent(at=at, actor=actor, action=action, package=package, version=version,
                   details=details)
    )


def enqueue(session: Session, *, at: datetime, kind: str, **payload: Any) -> None:
    """Queue derived work (search reindex, advisory matching) for the worker."""
    session.add(OutboxItem(kind=kind, payload=payload, created_at=at, available_at=at))


class AuditEventPublic(BaseModel):
    id: int
    at: datetime
    actor: str | None
    action: str
    package: str | None
    version: str | None
    details: dict[str, Any]
