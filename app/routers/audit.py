"""The append-only audit log (administrators only): one ``AuditLog`` call
(``registry.audit_log``, ``app/core/audit_log.py``).

Oldest first after an id (``after``, the default, for tailing), or newest first
(``order=desc``) below an id (``before``, for paging back from the newest).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from app.core.audit_log import AuditQuery
from app.core.input_guards import DB_INT_MAX
from app.core.records import AuditEventPublic
from app.deps import AdminDep, RegistryDep

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get("/audit-events", response_model=list[AuditEventPublic])
def audit_events(
    _: AdminDep, registry: RegistryDep,
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
    return registry.audit_log.events(AuditQuery(
        package=package, action=action, actor=actor, after=after, before=before, order=order,
        limit=limit))
