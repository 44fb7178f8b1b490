"""Prebuilt Core statements run straight on the driver's cursor, in the session's transaction.

    rows = fetch(session, _SCOPE_MEMBER, {"scope": "acme", "user_id": 7})   # list of rows
    row = first(connection, TOKEN_LOOKUP, {"digest": digest})              # or None
    new_id = scalar(session, _INSERT_PACKAGE, {...})                        # first column

On PostgreSQL each statement is compiled once (per set of parameter names) into the driver's
SQL and bind processors, then executed on the psycopg cursor of ``session.connection()``:
issue 13 measured SQLAlchemy's execution path (cache key, execution context, result object)
at 0.06-0.2 ms of CPU per statement beside psycopg's 0.02-0.05, and a publish runs a dozen
statements. The statement runs in exactly the transaction ``session.execute`` would use (the
session begins it as usual; a plain ``Connection`` is used as it is); rows come back as named
tuples (``row.id`` and ``row[0]``, as SQLAlchemy's rows), with psycopg's own types (as
SQLAlchemy returns them on PostgreSQL for the column types used here: integers, text,
booleans, timestamps with time zone, JSON).

On SQLite the same, on the ``sqlite3`` cursor, with SQLAlchemy's result processing done here
too (timestamps are stored as text, booleans as integers, JSON as text: each result column is
converted by its type's processor, as SQLAlchemy's result would): SQLite's statements cost
microseconds, SQLAlchemy's path ten times that, and a publish runs its dozen inside SQLite's
one write lock (issue 13: under 8 publishing clients the lock was held 5-9 ms a publish, 2.8 ms
of it the writing thread's own CPU). On any other database these are ``connection.execute``
and SQLAlchemy's rows.

Errors are raised as SQLAlchemy raises them (``IntegrityError``, ``OperationalError``, ...
wrapping the driver's), and a connection the driver reports broken is invalidated, so
``db_errors.database_outage`` and the pool see what they would have seen. Statements with
expanding (``IN``-list) parameters are not supported (``ValueError`` at first use).
"""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import ClauseElement
from sqlmodel import Session

Params = Mapping[str, Any]
Target = Session | Connection


@dataclass(frozen=True)
class _Compiled:
    sql: str
    defaults: dict[str, Any]  # bound values the statement carries itself (a LIMIT's)
    processors: dict[str, Callable[[Any], Any]]
    positions: tuple[str, ...] | None  # a positional paramstyle's order of names (SQLite)
    results: tuple[Callable[[Any], Any] | None, ...] | None  # per result column (SQLite;
    # None when no column needs one)


_CACHE: dict[tuple[int, frozenset[str], str], tuple[ClauseElement, _Compiled]] = {}
_ROWS: dict[tuple[str, ...], Any] = {}
_LOCK = threading.Lock()


def fetch(target: Target, statement: ClauseElement, params: Params | None = None) -> list[Any]:
    """Every row ``statement`` returns (none for a statement without rows)."""
    params = params or {}
    connection = target.connection() if isinstance(target, Session) else target
    dialect = connection.dialect.name
    if dialect not in ("postgresql", "sqlite"):
        result = connection.execute(statement, dict(params))  # type: ignore[call-overload]
        return list(result) if result.returns_rows else []
    compiled = _compiled(statement, frozenset(params), connection.dialect)
    values = dict(compiled.defaults)
    for name, value in params.items():
        process = compiled.processors.get(name)
        values[name] = process(value) if process is not None and value is not None else value
    if compiled.positions is None:
        return _run(connection, compiled.sql, values)
    return _run(connection, compiled.sql, [values[name] for name in compiled.positions],
                compiled.results)


def first(target: Target, statement: ClauseElement, params: Params | None = None) -> Any:
    """The first row, or None."""
    rows = fetch(target, statement, params)
    return rows[0] if rows else None


def scalar(target: Target, statement: ClauseElement, params: Params | None = None) -> Any:
    """The first column of the first row, or None when there is no row."""
    rows = fetch(target, statement, params)
    return rows[0][0] if rows else None


def run_text(target: Target, sql: str, values: dict[str, Any]) -> list[Any]:
    """PostgreSQL only: driver SQL text (``%(name)s`` placeholders, values as psycopg adapts
    them) run as ``fetch`` runs a statement; its rows, as ``fetch`` returns them."""
    connection = target.connection() if isinstance(target, Session) else target
    if connection.dialect.name != "postgresql":
        raise ValueError("driver_sql.run_text is for PostgreSQL's driver SQL")
    return _run(connection, sql, values)


def _run(connection: Connection, sql: str, values: dict[str, Any] | list[Any],
         results: tuple[Callable[[Any], Any] | None, ...] | None = None) -> list[Any]:
    raw: Any = connection.connection.driver_connection
    dbapi: Any = connection.dialect.loaded_dbapi
    try:
        cursor = raw.cursor()
        try:
            cursor.execute(sql, values)
            if cursor.description is None:
                return []
            row = _row_type(tuple(column[0] for column in cursor.description))
            fetched = cursor.fetchall()
        finally:
            cursor.close()
    except dbapi.Error as err:
        broken = connection.dialect.is_disconnect(err, raw, None)
        if broken:
            connection.invalidate(err)
        raise sa_exc.DBAPIError.instance(sql, values, err, dbapi.Error,
                                         connection_invalidated=broken,
                                         dialect=connection.dialect) from err
    if results is None:
        return [row._make(found) for found in fetched]
    return [row._make([value if process is None or value is None else process(value)
                       for process, value in zip(results, found, strict=True)])
            for found in fetched]


def _row_type(names: tuple[str, ...]) -> Any:
    made = _ROWS.get(names)
    if made is None:
        made = _ROWS[names] = namedtuple("Row", names, rename=True)
    return made


def _compiled(statement: ClauseElement, names: frozenset[str], dialect: Dialect) -> _Compiled:
    key = (id(statement), names, dialect.name)
    cached = _CACHE.get(key)
    if cached is not None and cached[0] is statement:
        return cached[1]
    compiled: Any = statement.compile(dialect=dialect, column_keys=sorted(names))
    defaults: dict[str, Any] = {}
    processors: dict[str, Callable[[Any], Any]] = {}
    for name, bind in compiled.binds.items():
        if bind.expanding:
            raise ValueError(f"driver_sql cannot run expanding parameters ({name})")
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if name not in names:
            if bind.required:
                raise ValueError(f"driver_sql: no value for {name}")
            value = bind.effective_value
            defaults[name] = process(value) if process is not None and value is not None \
                else value
        elif process is not None:
            processors[name] = process
    positions = results = None
    if dialect.positional:  # SQLite's qmark: the values in the order the SQL names them
        positions = tuple(compiled.positiontup)
        found = tuple(entry.type._cached_result_processor(dialect, None)
                      for entry in compiled._result_columns)
        results = found if any(found) else None  # decided once, not per row
    made = _Compiled(compiled.string, defaults, processors, positions, results)
    with _LOCK:
        _CACHE[key] = (statement, made)  # the statement is kept: its id stays its own
    return made
