"""Reading the append-only audit log (administrators; ``records.audit`` writes it).

    log = AuditLog(engine)                               # built by Registry.build
    log.events(AuditQuery(after=0, limit=100))           # oldest first after an id
    log.events(AuditQuery(order="desc", before=900))     # newest first below an id

Each call runs in its own read transaction and answers ``AuditEventPublic`` rows. Who may
read is the route's dependency (``AdminDep``); nothing here fails but the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from app.core.clock import as_utc
from app.core.db import session_scope
from app.core.models import AuditEvent
from app.core.records import AuditEventPublic


@dataclass(frozen=True)
class AuditQuery:
    """Filters (exact matches) and a page: ids above ``after`` and below ``before``, in
    ``order`` of id, at most ``limit``."""

    package: str | None = None
    action: str | None = None
    actor: str | None = None
    after: int = 0
    before: int | None = None
    order: Literal["asc", "desc"] = "asc"
    limit: int = 100


class AuditLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def events(self, query: AuditQuery) -> list[AuditEventPublic]:
        statement = select(AuditEvent).where(col(AuditEvent.id) > query.after)
        if query.before is not None:
            statement = statement.where(col(AuditEvent.id) < query.before)
        if query.package:
            statement = statement.where(AuditEvent.package == query.package)
        if query.action:
            statement = statement.where(AuditEvent.action == query.action)
        if query.actor:
            statement = statement.where(AuditEvent.actor == query.actor)
        by_id = col(AuditEvent.id).desc() if query.order == "desc" else col(AuditEvent.id)
        with session_scope(self.engine) as session:
            rows = session.exec(statement.order_by(by_id).limit(query.limit)).all()
            return [AuditEventPublic(id=r.id or 0, at=as_utc(r.at), actor=r.actor,
                                     action=r.action, package=r.package, version=r.version,
                                     details=r.details)
                    for r in rows]
