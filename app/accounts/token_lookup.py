"""Bearer tokens resolved for the token gate on the event loop, with no thread hop (issue 13).

    tokens = TokenLookup(registry.engine, registry.clock)   # closed at shutdown
    principal = await tokens.principal(secret)              # InvalidToken, or a Principal

Every request that presents a token asks the database again (a revoked token, an expired one
or a disabled account fails on the very next request, on every replica); what this saves is
the thread hop. Measured under 8 publishing clients on PostgreSQL, the hop to the thread pool
for the lookup cost 0.7-2.5 ms of server CPU per publish (GIL hand-offs between the event
loop and the pool's threads), more than the query.

PostgreSQL: the query runs on a connection of this process's own (``LoopConnection``), shared
by the requests that arrive together (``Coalescer``: each is answered by a query that started
after it arrived, so it sees every commit before it). SQLite: one indexed read on a
connection of this process's own in autocommit mode (each statement reads the latest commit;
a local read of tens of microseconds, as the download lookup makes on the loop). The checks
are ``principal_of``'s, the same as ``authenticate``'s. When that connection fails
(PostgreSQL restarted, the network cut, a SQLite error), the lookup goes to the thread pool
(``authenticate``) for ``RETRY_AFTER`` seconds, where it succeeds as before or fails with the
database error (the gate's 503).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from anyio import to_thread
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Engine

from app.accounts.service import (
    TOKEN_LOOKUP,
    Principal,
    authenticate,
    principal_of,
    token_digest,
)
from app.core.clock import Clock
from app.core.db import autocommit
from app.core.loop_queries import Coalescer, LoopConnection, own_connection, text_array

log = logging.getLogger("vouch.tokens")

RETRY_AFTER = 5.0  # seconds the loop's lookups stay off after its connection failed

#: ``service.TOKEN_LOOKUP`` for many digests at once, one index probe per digest: as
#: ``= ANY(...)``, or without the ``LIMIT`` (``token_hash`` is unique) that keeps the planner
#: from flattening the lateral join, it scans the whole table while it has no statistics.
#: Timestamps as UTC text, whatever the session's time zone and date style.
_BATCH_QUERY = """
SELECT r.*
FROM unnest($1::text[]) AS q(digest)
CROSS JOIN LATERAL (
    SELECT t.id, t.token_hash, t.user_id, t.name, t.actions, t.package_patterns,
           t.trusted_publisher_id,
           to_char(t.revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
           to_char(t.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
           u.name, u.is_admin, u.is_security,
           to_char(u.disabled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')
    FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id
    WHERE t.token_hash = q.digest
    LIMIT 1
) AS r
"""
#: SQLite: ``service.TOKEN_LOOKUP`` itself, for the driver (values as SQLite stores them:
#: timestamps as SQLAlchemy's UTC text, booleans as integers).
_SQLITE_QUERY = str(TOKEN_LOOKUP.compile(dialect=sqlite.dialect()))


class _TokenRow(NamedTuple):
    """A row of ``_BATCH_QUERY`` or ``_SQLITE_QUERY``, decoded, with the names that
    ``principal_of`` reads."""

    id: int
    token_hash: str
    user_id: int | None
    name: str
    actions: list[str]
    package_patterns: list[str]
    trusted_publisher_id: int | None
    revoked_at: datetime | None
    expires_at: datetime | None
    user_name: str | None
    is_admin: bool
    is_security: bool
    disabled_at: datetime | None


class TokenLookup:
    """Resolves bearer secrets to principals for the token gate (see the module docstring)."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self.sqlite = engine.dialect.name == "sqlite"
        self._lane = LoopConnection(engine)
        self._batches: Coalescer[str, _TokenRow] = Coalescer(self._fetch)
        self._conn: Any = None  # SQLite
        self._lock = threading.Lock()
        self._off_until = 0.0

    async def principal(self, secret: str) -> Principal:
        """The principal of ``secret``. Raises ``InvalidToken`` (not a token, unknown,
        revoked, expired, disabled account) and, from the thread pool's lookup, SQLAlchemy's
        database errors (the gate answers 503)."""
        digest = token_digest(secret)
        if time.monotonic() >= self._off_until:
            try:
                row = self._sqlite_row(digest) if self.sqlite else await self._batches.get(
                    digest)
            except Exception:
                log.warning("token lookup on the event loop failed; using the thread pool "
                            "for %ss", RETRY_AFTER, exc_info=True)
                self.close()
                self._off_until = time.monotonic() + RETRY_AFTER
            else:
                return principal_of(row, digest, now=self.clock.now())
        return await to_thread.run_sync(self._authenticate, secret)

    def _authenticate(self, secret: str) -> Principal:
        # One read statement on a pooled connection, in autocommit: no BEGIN, no ROLLBACK.
        with autocommit(self.engine).connect() as connection:
            return authenticate(connection, secret, now=self.clock.now())

    async def _fetch(self, _lane: int, digests: list[str]) -> dict[str, _TokenRow]:
        rows = await self._lane.query("vouch_tokens", _BATCH_QUERY, [text_array(digests)])
        return {row.token_hash: row for row in map(_decode, rows)}

    def _sqlite_row(self, digest: str) -> _TokenRow | None:
        """SQLite: the token row of ``digest``, read on the calling thread."""
        with self._lock:
            if self._conn is None:
                self._conn = own_connection(self.engine)
            found = self._conn.execute(_SQLITE_QUERY, (digest,)).fetchone()
        return None if found is None else _decode(found)

    def close(self) -> None:
        self._lane.close()
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # already broken: nothing to release
                log.debug("closing the token lookup connection failed", exc_info=True)


def _decode(raw: Sequence[bytes | str | int | None]) -> _TokenRow:
    """A row of ``_BATCH_QUERY`` (PostgreSQL's text format: bytes) or of ``_SQLITE_QUERY``
    (SQLite's values: text, integers for ids and booleans) as a ``_TokenRow``."""
    text = [value.decode() if isinstance(value, bytes) else value for value in raw]
    return _TokenRow(
        id=int(_text(text[0])), token_hash=_text(text[1]), user_id=_int(text[2]),
        name=_text(text[3]), actions=json.loads(_text(text[4])),
        package_patterns=json.loads(_text(text[5])), trusted_publisher_id=_int(text[6]),
        revoked_at=_utc(text[7]), expires_at=_utc(text[8]),
        user_name=None if text[9] is None else _text(text[9]),
        is_admin=str(text[10]) in ("t", "1"), is_security=str(text[11]) in ("t", "1"),
        disabled_at=_utc(text[12]))


def _text(value: str | int | None) -> str:
    if value is None:
        raise ValueError("a NOT NULL column of api_tokens came back NULL")
    return str(value)


def _int(value: str | int | None) -> int | None:
    return None if value is None else int(value)


def _utc(value: str | int | None) -> datetime | None:
    """A UTC timestamp written as text (PostgreSQL's ``to_char``, SQLAlchemy's SQLite text)."""
    return None if value is None else datetime.fromisoformat(str(value)).replace(tzinfo=UTC)
