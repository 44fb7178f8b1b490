"""The append-only audit log (administrators only).

Oldest first after an id (``after``, the default, for tailing), or newest first
(``order=desc``) below an id (``before``, for paging back from the newest).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query
from sqlmodel import col, select

from app.core.clock import as_utc
from app.core.input_guards import DB_INT_MAX
from app.core.models import AuditEvent
from app.core.records import AuditEventPublic
from app.deps import AdminDep, SessionDep

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get("/audit-events", response_model=list[AuditEventPublic])
def audit_events(
    _: AdminDep, session: SessionDep,
    package: str | None = None, action: str | None = None, actor: str | None = None,
    after: int = Query(default=0, ge=0, le=DB_INT_MAX,
                       description="return events with a larger id"),
    before: int | None = Query(default=None, ge=1, le=DB_INT_MAX,
                               description="return events with a smaller id"),
    order: Literal["asc", "desc"] = Query(
        default="asc", description="asc: oldest first (tailing with after); desc: newest "
                                   "first (paging back with before)"),
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[AuditEventPublic]:
    query = select(AuditEvent).where(col(AuditEvent.id) > after)
    if before is not None:
        query = query.where(col(AuditEvent.id) < before)
    if package:
        query = query.where(AuditEvent.package == package)
    if action:
        query = query.where(AuditEvent.action == action)
    if actor:
        query = query.where(AuditEvent.actor == actor)
    by_id = col(AuditEvent.id).desc() if order == "desc" else col(AuditEvent.id)
    rows = session.exec(query.order_by(by_id).limit(limit)).all()
    return [AuditEventPublic(id=r.id or 0, at=as_utc(r.at), actor=r.actor, action=r.action,
                             package=r.package, version=r.version, details=r.details)
            for r in rows]
