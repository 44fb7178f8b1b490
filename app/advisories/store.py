"""Advisory rows in the database: save a record, read it back, and the change counter.

    with session_scope(engine, write=True) as session:
        revision = bump_generation(session)           # first: serialises advisory writers
        save(session, record, state="published", revision=revision, actor="alice")
    generation(session)                               # -> the last committed revision
    changed_since(session, 41)                        # -> [(id, state, record_json), ...]

Why a counter: every process keeps an in-memory ``AdvisoryIndex`` and must notice writes made
by other processes. ``bump_generation`` increments the single ``advisory_generation`` row;
that row's lock (PostgreSQL) or the write lock (SQLite) is held until commit, so revisions are
handed out in commit order: once a reader sees generation ``G`` committed, every row stamped
``<= G`` is committed too. Readers reload only rows with ``revision > last seen``. The
``revision`` column is added by migration 0002 and is not on the ``Advisory`` table model,
so it is read and written here with SQLAlchemy Core.

Records in the database were validated when they were written, so reading them back uses the
model alone (``Advisory.model_validate``), not the slower JSON-schema pass.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, delete, select

from advisories.ecosystems import normalize_name
from advisories.models import Advisory
from advisories.severity import assess
from app.core.models import Advisory as AdvisoryRow
from app.core.models import AdvisoryPackage

STATES = ("draft", "published", "withdrawn")
PUBLIC_STATES = ("published", "withdrawn")

_generation = sa.table("advisory_generation", sa.column("id", sa.Integer),
                       sa.column("value", sa.BigInteger))
_advisories = sa.table("advisories", sa.column("id", sa.String), sa.column("state", sa.String),
                       sa.column("record", sa.JSON), sa.column("revision", sa.BigInteger))


def bump_generation(session: Session) -> int:
    """Increment the change counter and return the new revision. Call it first in a write
    transaction: it takes the lock that orders advisory writers."""
    value = session.execute(
        sa.update(_generation).where(_generation.c.id == 1)
        .values(value=_generation.c.value + 1).returning(_generation.c.value)
    ).scalar_one()
    return int(value)


def generation(session: Session) -> int:
    """The last committed revision (0 before any advisory write)."""
    value = session.execute(
        sa.select(_generation.c.value).where(_generation.c.id == 1)).scalar_one_or_none()
    return int(value or 0)


def changed_since(session: Session, revision: int) -> list[tuple[str, str, dict[str, Any]]]:
    """``(id, state, record)`` of every row written after ``revision``."""
    rows = session.execute(
        sa.select(_advisories.c.id, _advisories.c.state, _advisories.c.record)
        .where(_advisories.c.revision > revision)
    ).all()
    return [(row[0], row[1], row[2]) for row in rows]


def load(row: AdvisoryRow) -> Advisory:
    """The OSV record of a stored row (validated on the way in)."""
    return Advisory.model_validate(row.record)


def get_row(session: Session, advisory_id: str) -> AdvisoryRow | None:
    return session.get(AdvisoryRow, advisory_id)


def stored_modified(session: Session, ids: list[str]) -> dict[str, str]:
    """id -> the stored record's own ``modified`` string, for the ids that exist."""
    found: dict[str, str] = {}
    modified = col(AdvisoryRow.record)["modified"].as_string()
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for advisory_id, stamp in session.exec(
                select(AdvisoryRow.id, modified).where(col(AdvisoryRow.id).in_(chunk))):
            found[advisory_id] = str(stamp)
    return found


def state_of(record: Advisory, *, draft: bool = False) -> str:
    """``withdrawn`` if the record says so, else ``draft`` or ``published``."""
    if record.is_withdrawn:
        return "withdrawn"
    return "draft" if draft else "published"


def save(session: Session, record: Advisory, *, state: str, revision: int,
         actor: str | None = None) -> AdvisoryRow:
    """Insert or replace the row for ``record``, its package rows and its revision stamp."""
    return save_many(session, [(record, state)], revision=revision, actor=actor)[0]


def save_many(session: Session, items: list[tuple[Advisory, str]], *, revision: int,
              actor: str | None = None) -> list[AdvisoryRow]:
    """:func:`save` for many records (ids must be distinct), with one flush and a few
    statements per 500 records rather than several per record (bulk imports)."""
    ids = [record.id for record, _ in items]
    existing: dict[str, AdvisoryRow] = {}
    for chunk in _chunks(ids):
        existing.update((row.id, row) for row in session.exec(
            select(AdvisoryRow).where(col(AdvisoryRow.id).in_(chunk))))
        session.execute(delete(AdvisoryPackage).where(col(AdvisoryPackage.advisory_id).in_(chunk)))
    rows = []
    for record, state in items:
        row = existing.get(record.id) or AdvisoryRow(id=record.id, created_by=actor or "",
                                                     modified=record.modified_at)
        _fill(row, record, state)
        session.add(row)
        rows.append(row)
        session.add_all(AdvisoryPackage(advisory_id=record.id, ecosystem=ecosystem, name=name)
                        for ecosystem, name in _package_keys(record))
    session.flush()
    for chunk in _chunks(ids):
        session.execute(sa.update(_advisories).where(_advisories.c.id.in_(chunk))
                        .values(revision=revision))
    return rows


def _chunks(ids: list[str], size: int = 500) -> list[list[str]]:
    return [ids[start:start + size] for start in range(0, len(ids), size)]


def _fill(row: AdvisoryRow, record: Advisory, state: str) -> None:
    assessment = assess(record)
    row.state = state
    row.record = record.to_json()
    row.summary = record.summary or ""
    row.severity = assessment.level if assessment else None
    row.malicious = record.is_malicious
    row.modified = record.modified_at
    row.published = record.published_at
    row.withdrawn = record.withdrawn_at
    row.withdrawn_reason = _withdrawn_reason(record)


def _withdrawn_reason(record: Advisory) -> str | None:
    if not record.is_withdrawn:
        return None
    reason = (record.database_specific or {}).get("withdrawn_reason")
    return reason if isinstance(reason, str) else None


def _package_keys(record: Advisory) -> list[tuple[str, str]]:
    keys: set[tuple[str, str]] = set()
    for entry in record.affected or []:
        if entry.package is not None:
            ecosystem = entry.package.ecosystem
            keys.add((ecosystem[:32], normalize_name(ecosystem, entry.package.name)[:214]))
    return sorted(keys)
