"""Which database errors mean "the database is unavailable" (issue 10: 503, not 500).

    outage = database_outage(err)     # a DatabaseUnavailable, or None for any other error
    if outage is not None:
        raise outage from err

An outage is something the caller can only wait out: the server is down, restarting or
unreachable, the connection broke, the pool is exhausted, the disk under SQLite fails, or
SQLite's write lock stayed taken beyond the busy timeout. Errors that point at a bug or at the
request (constraint violations, SQL errors, serialization failures, corruption) are not
outages and stay 500s. ``reason`` is a short, fixed phrase for logs: the driver's message is
never put in a response (it names hosts, ports and files), and never the connection URL.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import exc as sa_exc

from app.core.errors import DatabaseUnavailable

# PostgreSQL SQLSTATEs: class 08 (connection exception), 53 (insufficient resources: disk
# full, out of memory, too many connections), and the server shutting down or starting up.
_PG_OUTAGE_CLASSES = ("08", "53")
_PG_OUTAGE_STATES = {"57P01", "57P02", "57P03"}

# SQLite primary result codes (the low byte of the extended code).
_SQLITE_BUSY = {5: "busy", 6: "locked"}
_SQLITE_OUTAGE = {8: "read-only", 10: "disk I/O error", 13: "disk full",
                  14: "cannot open the database file", 15: "locking protocol error"}


def database_outage(error: BaseException) -> DatabaseUnavailable | None:
    """A `DatabaseUnavailable` when ``error`` (or an error it was raised from) is an outage."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        reason = outage_reason(current)
        if reason is not None:
            outage = DatabaseUnavailable(busy=reason in _SQLITE_BUSY.values())
            outage.reason = reason
            return outage
        current = current.__cause__ or current.__context__
    return None


def outage_reason(error: BaseException) -> str | None:
    """A short reason when this one error is an outage, else None (does not follow causes)."""
    if isinstance(error, sa_exc.TimeoutError):
        return "connection pool exhausted"
    if not isinstance(error, sa_exc.DBAPIError):
        return None
    if error.connection_invalidated:
        return "connection lost"
    return _driver_reason(error.orig)


def _driver_reason(orig: BaseException | None) -> str | None:
    if isinstance(orig, sqlite3.Error):
        code = getattr(orig, "sqlite_errorcode", None)
        if code is None:
            return None
        primary = code & 0xFF
        return _SQLITE_BUSY.get(primary) or _SQLITE_OUTAGE.get(primary)
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency of the project
        return None
    if isinstance(orig, psycopg.InterfaceError):
        return "connection closed"
    if isinstance(orig, psycopg.OperationalError):
        state = getattr(orig, "sqlstate", None)
        if state is None:
            # Raised by libpq itself: refused, unreachable, or closed by the server.
            return "cannot reach the server"
        if state in _PG_OUTAGE_STATES or state.startswith(_PG_OUTAGE_CLASSES):
            return f"server state {state}"
    return None
