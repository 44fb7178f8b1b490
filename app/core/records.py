"""Append-only audit events and outbox rows, written inside the caller's transaction, and the
audit event's wire model (``AuditEventPublic``).

Both are one prebuilt ``INSERT`` executed at once on the session's connection (issue 13: an
ORM object per event cost a unit-of-work flush at commit, several times the statement
itself). The row is part of the caller's transaction exactly as before: it commits or rolls
back with it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import insert
from sqlmodel import Session

from app.core.models import AuditEvent, OutboxItem

_AUDIT = insert(AuditEvent.__table__)  # type: ignore[attr-defined]
_OUTBOX = insert(OutboxItem.__table__)  # type: ignore[attr-defined]


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
    session.execute(_AUDIT, {"at": at, "actor": actor, "action": action, "package": package,
                             "version": version, "details": details})


def enqueue(session: Session, *, at: datetime, kind: str, **payload: Any) -> None:
    """Queue derived work (search reindex, advisory matching) for the worker."""
    session.execute(_OUTBOX, {"kind": kind, "payload": payload, "created_at": at,
                              "available_at": at, "processed_at": None, "attempts": 0,
                              "last_error": None})


class AuditEventPublic(BaseModel):
    id: int
    at: datetime
    actor: str | None
    action: str
    package: str | None
    version: str | None
    details: dict[str, Any]
