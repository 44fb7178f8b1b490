"""Insert a row unless a unique constraint already holds one: no savepoint, no failed statement.

    row = insert_unless_taken(session, PackageVersion(package_id=1, version="1.0.0", ...))
    if row is None:
        ...  # the (package, version) is taken: by a committed row, or on PostgreSQL by a
             # concurrent transaction this statement waited for, which then committed

``INSERT ... ON CONFLICT DO NOTHING RETURNING *`` (PostgreSQL, SQLite >= 3.35). A publish used a
savepoint per insert (``SAVEPOINT``, ``INSERT``, ``RELEASE``: three statements and an aborted
transaction to roll back to on PostgreSQL) so that it could go on after a unique violation;
this is one statement and leaves the transaction usable. The race decision is the database's as
before: on PostgreSQL a conflicting uncommitted insert makes this statement wait for that
transaction, and it inserts nothing if that one commits. Other integrity errors (a foreign key,
NOT NULL) are not conflicts and still raise ``IntegrityError``.

``adopt`` and ``loaded`` make a row that a statement of the caller's inserted or read an ORM
object of the session, as a flush or a query would leave it, without the ORM's statement.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import Insert, inspect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, SQLModel

from app.core import driver_sql

Row = TypeVar("Row", bound=SQLModel)
_STATEMENTS: dict[tuple[type[SQLModel], str], tuple[Insert, list[tuple[str, str]], str]] = {}


def insert_unless_taken(session: Session, row: Row) -> Row | None:
    """Insert ``row`` (a new, unsaved model with a single-column generated primary key) and
    return it, now persistent in ``session`` with its id and its attributes as given (as a
    flush would leave it); None when a unique constraint of its table already holds such a
    row (``row`` is then left unsaved)."""
    statement, columns, _ = _statement(type(row), session.get_bind().dialect.name)
    new_id = driver_sql.scalar(session, statement, {column: getattr(row, attr)
                                                    for attr, column in columns})
    if new_id is None:
        return None
    return adopt(session, row, new_id)


def adopt(session: Session, row: Row, new_id: int) -> Row:
    """``row``, inserted by a statement of the caller's with the primary key ``new_id``, made
    persistent in ``session`` as a flush would leave it (no second INSERT)."""
    _, _, key = _statement(type(row), session.get_bind().dialect.name)
    setattr(row, key, new_id)
    make_transient_to_detached(row)
    session.add(row)
    return row


def loaded(session: Session, model: type[Row], row: Any) -> Row:
    """The ORM object of ``row`` (every column of ``model``'s table, read by a statement of the
    caller's), as a query through the session would give it: the session's own instance of
    that primary key if it holds one, else a new one, persistent and unmodified (issue 13:
    the ORM's query cost more than the statement and the object together)."""
    _, _, key = _statement(model, session.get_bind().dialect.name)
    values = row._asdict()
    existing = session.identity_map.get(identity_key(model, values[key]))
    if existing is not None:
        return existing
    return adopt(session, model(**values), values[key])


def _statement(model: type[SQLModel],
               dialect: str) -> tuple[Insert, list[tuple[str, str]], str]:
    """The table-level statement for ``model`` (built once: an ORM-level INSERT with
    ``.values()`` cost more than the savepoint it replaces), its (attribute, column) pairs
    and the primary key's attribute."""
    cached = _STATEMENTS.get((model, dialect))
    if cached is None:
        mapper = inspect(model)
        (key_column,) = mapper.primary_key
        key = mapper.get_property_by_column(key_column).key
        columns = [(attr.key, attr.columns[0].key) for attr in mapper.column_attrs
                   if attr.key != key]
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        table = mapper.local_table
        statement = insert(table).on_conflict_do_nothing().returning(key_column)
        cached = _STATEMENTS[(model, dialect)] = (statement, columns, key)
    return cached
