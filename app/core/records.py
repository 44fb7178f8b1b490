"""Append-only audit events and outbox rows, written inside the caller's transaction, and the
audit event's wire model (``AuditEventPublic``).

Both are one prebuilt ``INSERT`` executed at once on the session's connection (issue 13: an
ORM object per event cost a unit-of-work flush at commit, several times the statement
itself). The row is part of the caller's transaction exactly as before: it commits or rolls
back with it. ``RecordBatch`` collects a transaction's rows and writes them together (one
statement on PostgreSQL): the publish path's.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import insert
from sqlmodel import Session

from app.core import driver_sql
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
    session.execute(_AUDIT, _audit_row(at, actor, action, package, version, details))


def enqueue(session: Session, *, at: datetime, kind: str, **payload: Any) -> None:
    """Queue derived work (search reindex, advisory matching) for the worker."""
    session.execute(_OUTBOX, _outbox_row(at, kind, payload))


def _audit_row(at: datetime, actor: str | None, action: str, package: str | None,
               version: str | None, details: dict[str, Any]) -> dict[str, Any]:
    return {"at": at, "actor": actor, "action": action, "package": package,
            "version": version, "details": details}


def _outbox_row(at: datetime, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "payload": payload, "created_at": at, "available_at": at,
            "processed_at": None, "attempts": 0, "last_error": None}


class RecordBatch:
    """The audit events and outbox rows of one write transaction, written together by
    ``flush`` (the caller's, before its transaction ends; unflushed rows are simply not
    written, as a rollback would leave them).

        records = RecordBatch(session)
        records.audit(at=now, actor="ana", action="package:create", package="left-pad")
        records.enqueue(at=now, kind="search.reindex", package="left-pad")
        records.flush()

    On PostgreSQL one statement writes them all (the audit rows in a data-modifying ``WITH``
    ahead of the outbox rows; issue 13: each statement a publish saves is a round trip and
    0.2-0.3 ms of CPU); on SQLite one statement per table. Rows keep the order they were
    added in; a caller whose next statement writes audit events of its own flushes first."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._audit: list[dict[str, Any]] = []
        self._outbox: list[dict[str, Any]] = []

    def audit(self, *, at: datetime, actor: str | None, action: str,
              package: str | None = None, version: str | None = None,
              **details: Any) -> None:
        """As ``audit``. Never put secrets in ``details``."""
        self._audit.append(_audit_row(at, actor, action, package, version, details))

    def enqueue(self, *, at: datetime, kind: str, **payload: Any) -> None:
        """As ``enqueue``."""
        self._outbox.append(_outbox_row(at, kind, payload))

    def flush(self) -> None:
        """Write the rows added since the last flush; raises what the database raises."""
        rows, self._audit, queued, self._outbox = self._audit, [], self._outbox, []
        if rows and queued and self.session.get_bind().dialect.name == "postgresql":
            params = {}
            for (prefix, columns, json_column), batch in zip(_PG_PARTS, (rows, queued),
                                                             strict=True):
                for i, row in enumerate(batch):
                    for column in columns:
                        value = row[column]
                        params[f"{prefix}{i}_{column}"] = (json.dumps(value)
                                                           if column == json_column else value)
            driver_sql.run_text(self.session, _pg_batch(len(rows), len(queued)), params)
            return
        if rows:
            self.session.execute(_AUDIT, rows)
        if queued:
            self.session.execute(_OUTBOX, queued)


_AUDIT_COLUMNS = ("at", "actor", "action", "package", "version", "details")
_OUTBOX_COLUMNS = ("kind", "payload", "created_at", "available_at", "processed_at",
                   "attempts", "last_error")
#: (parameter prefix, columns, the JSON column) of the audit rows, then of the outbox rows.
_PG_PARTS = (("a", _AUDIT_COLUMNS, "details"), ("o", _OUTBOX_COLUMNS, "payload"))


@functools.cache
def _pg_batch(audits: int, queued: int) -> str:
    """PostgreSQL: the one statement for ``audits`` audit rows and ``queued`` outbox rows, as
    driver SQL (SQLAlchemy's multi-row ``insert().values()`` cost more to build than the
    statements it saves)."""
    def values(part: tuple[str, tuple[str, ...], str], count: int) -> str:
        prefix, columns, json_column = part
        return ", ".join(
            "(" + ", ".join(f"%({prefix}{i}_{column})s" + ("::json" if column == json_column
                                                             else "")
                            for column in columns) + ")"
            for i in range(count))

    audit_part, outbox_part = _PG_PARTS
    # Only constant column names and placeholders are formatted in; every value is bound.
    return (f"WITH audited AS (INSERT INTO audit_events ({', '.join(_AUDIT_COLUMNS)}) "  # noqa: S608
            f"VALUES {values(audit_part, audits)}) "
            f"INSERT INTO outbox ({', '.join(_OUTBOX_COLUMNS)}) "
            f"VALUES {values(outbox_part, queued)}")


class AuditEventPublic(BaseModel):
    id: int
    at: datetime
    actor: str | None
    action: str
    package: str | None
    version: str | None
    details: dict[str, Any]
