"""Which version of a package's public state is current: read per request, from any replica.

    reader = GenerationReader(engine)                 # one per process; closed at shutdown
    tag = await reader.read("left-pad")              # (package generation, registry-wide one)
    bump(session, ["left-pad"])                      # the download counter's own bump

``read_generations`` (migration 0011) holds one counter per package, raised by database
triggers in the same transaction as every change to the rows the package's documents are built
from, plus a registry-wide row ``*`` for advisory changes. A cached document is current while
the tag it was rendered under equals ``read`` now: a write committed by any process, before
the request arrived, is seen by the request (issue 13: "nothing is answered from a cache that
a write has made stale").

What a read costs:

- SQLite: ``PRAGMA data_version`` on a connection of this process's own changes whenever any
  other connection (any process) has committed. While it has not changed, the tags read since
  are still current and no query runs; otherwise one primary-key query. Both run on the event
  loop: they are reads of a local file that the WAL lets proceed past any writer, microseconds.
- PostgreSQL: one prepared query on a connection of this process's own, run on the event loop
  with libpq's asynchronous calls (``loop_queries.LoopConnection``: no thread hop, little
  Python per query); concurrent requests share it
  (``Coalescer``): each waits for a query that starts after it arrived (the next one, held
  up to 2 ms while the clients just answered come back), so many requests cost one round
  trip, and none is answered by a query that began before it. The query does not read the
  names it is asked for: it returns the rows written by the transactions its last snapshot
  did not see (migration 0015's ``written``: at or above that snapshot's ``xmax``, or in its
  list in progress), the names this process has not read yet, and its own snapshot. So the
  generations this process keeps are those of the new snapshot, and a cached read costs the
  database an empty index range instead of one probe per name (issue 13: the backends' CPU
  went from 5.4-8.6 µs a metadata read to 3.9-5.2).

``read`` raises on database errors; callers then let the routed path answer (it has the
``database_unavailable`` mapping).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.core.answers import Answer, Pending
from app.core.loop_queries import Coalescer, LoopConnection, own_connection, text_array

log = logging.getLogger("vouch.generations")

REGISTRY_WIDE = "*"
RETRY_AFTER = 5.0  # seconds the protocol's answers stay off after a tag could not be read
Tag = tuple[int, int]

# PostgreSQL: all names in one statement, inserted (so locked) in sorted order.
_BUMP_PG = ("INSERT INTO read_generations (name, generation) "
            "SELECT n, 1 FROM unnest(%(names)s::text[]) AS n ORDER BY n "
            "ON CONFLICT (name) DO UPDATE SET generation = read_generations.generation + 1")
_BUMP_SQLITE = ("INSERT INTO read_generations (name, generation) VALUES (?, 1) "
                "ON CONFLICT (name) DO UPDATE SET generation = read_generations.generation + 1")

# PostgreSQL: the statement's own snapshot (name NULL: no row has one); the rows written by
# the transactions the last snapshot did not see: those from its xmax on ($1), and those in
# progress in it ($2, all between its xmin $4 and xmax); and the names not read yet, one
# primary-key probe each. The three parts read the statement's one snapshot. NULLs and '{}'
# the first time: no changes to read.
_FEED = ("SELECT NULL::text, pg_current_snapshot()::text "
         "UNION ALL SELECT name, generation::text FROM read_generations "
         "WHERE written >= $1::xid8 AND written < '18446744073709551615'::xid8 "
         "UNION ALL SELECT name, generation::text FROM read_generations "
         "WHERE written = ANY($2::xid8[]) AND written >= $4::xid8 AND written < $1::xid8 "
         "UNION ALL SELECT q.name, (SELECT g.generation FROM read_generations g "
         "WHERE g.name = q.name)::text FROM unnest($3::text[]) AS q(name)")

#: The feed's connection: its plan is made once per connection, not at each execution (which
#: cost more than running it), and it probes indexes whatever the table's size was then or
#: its statistics say (issue 13: planned while the registry was small, the ids in progress
#: were found by scanning every row of the table at every query, for the life of the
#: connection). The range has two bounds for the same reason: ``written >= $1`` alone is
#: estimated to match a third of the table.
FEED_SETTINGS = ("plan_cache_mode = force_generic_plan", "enable_seqscan = off")


def bump(session: Session, names: Iterable[str]) -> None:
    """Raise the generation of each package in ``names`` (sorted: a fixed lock order): one
    statement on PostgreSQL, one executemany in SQLite's C loop (issue 13: an executemany
    through SQLAlchemy cost tens of milliseconds of GIL time for a thousand names)."""
    ordered = sorted(set(names))
    if not ordered:
        return
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(_BUMP_PG, {"names": ordered})
    else:
        connection.exec_driver_sql(_BUMP_SQLITE, [(name,) for name in ordered])


#: Names whose generations a process keeps (PostgreSQL) or remembers between commits
#: (SQLite); past it the memory is emptied, and names are read again as they are asked for.
KEPT_NAMES = 100_000


def _after(snapshot: bytes | None) -> tuple[bytes, bytes, bytes]:
    """The feed's next parameters from ``pg_current_snapshot()``'s text, ``xmin:xmax:ids``:
    its ``xmax``, its ids in progress as an array literal, and its ``xmin``. Raises
    ``ValueError`` for anything else."""
    parts = (snapshot or b"").split(b":")
    if len(parts) != 3 or not (parts[0].isdigit() and parts[1].isdigit()):
        raise ValueError(f"not a snapshot: {snapshot!r}")
    return parts[1], b"{" + parts[2] + b"}", parts[0]


class GenerationReader:
    """The current tag of a package: (its generation, the registry-wide generation)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self._conn: Any = None
        self._lock = threading.Lock()
        # PostgreSQL: one lane, so the feed's queries run one after the other, each from the
        # snapshot the one before it ended at.
        self._pg = LoopConnection(engine, settings=FEED_SETTINGS)
        self._seen: dict[str, int] = {}  # generations as of the last query's snapshot
        self._since: tuple[bytes, bytes, bytes] | None = None  # its (xmax, ids, xmin)
        # SQLite: tags read while data_version had the value ``_version``.
        self._version: int | None = None
        self._known: dict[str, Tag] = {}
        self._batches: Coalescer[str, Tag] = Coalescer(self._fetch)
        self._answers_off_until = 0.0

    async def read(self, name: str) -> Tag:
        if self.sqlite:
            return self.read_now(name)
        tag = await self._batches.get(name)
        assert tag is not None  # _fetch answers every name it is asked
        return tag

    def submit(self, name: str) -> asyncio.Future[Tag | None]:
        """PostgreSQL only: ``read`` as a future, for callers that are callbacks (a future's
        exception is ``read``'s)."""
        return self._batches.submit(name)

    def answer_with(self, name: str,
                    then: Callable[[Tag], Answer | None]) -> Answer | Pending | None:
        """For the protocol's answerers (``app.core.protocol_answers``): ``then`` of ``name``'s
        current tag, now on SQLite, once the shared read returns on PostgreSQL. ``None`` (the
        application answers, and maps the error) when the tag cannot be read, and for
        ``RETRY_AFTER`` seconds after that."""
        if time.monotonic() < self._answers_off_until:
            return None
        if not self.sqlite:
            return Pending(self.submit(name), partial(self._then, then))
        try:
            tag = self.read_now(name)
        except Exception:
            self._answers_off_until = time.monotonic() + RETRY_AFTER
            return None
        return then(tag)

    def _then(self, then: Callable[[Tag], Answer | None],
              future: asyncio.Future[Tag | None]) -> Answer | None:
        if future.cancelled() or future.exception() is not None:
            self._answers_off_until = time.monotonic() + RETRY_AFTER
            return None
        tag = future.result()
        return None if tag is None else then(tag)

    def read_now(self, name: str) -> Tag:
        """SQLite only: the tag, read on the calling thread."""
        with self._lock:
            conn = self._connection()
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            if version != self._version:
                self._known.clear()
                self._version = version
            tag = self._known.get(name)
            if tag is None:
                rows = dict(conn.execute(
                    "SELECT name, generation FROM read_generations WHERE name IN (?, ?)",
                    (name, REGISTRY_WIDE)).fetchall())
                tag = (int(rows.get(name, 0)), int(rows.get(REGISTRY_WIDE, 0)))
                if len(self._known) > KEPT_NAMES:
                    self._known.clear()
                self._known[name] = tag
            return tag

    async def _fetch(self, lane: int, names: list[str]) -> dict[str, Tag]:
        """PostgreSQL: the tags of ``names`` as of a snapshot taken now (one query: ``_FEED``).
        Raises what the query raises, having forgotten every generation kept (the next query
        reads the names it is asked for again)."""
        seen = self._seen
        if len(seen) > KEPT_NAMES:
            seen.clear()
        unread = [name for name in names if name not in seen]
        if REGISTRY_WIDE not in seen:
            unread.append(REGISTRY_WIDE)
        xmax, in_progress, xmin = self._since or (None, b"{}", None)
        try:
            rows = await self._pg.query("vouch_feed", _FEED,
                                        [xmax, in_progress, text_array(unread), xmin])
            for raw, value in rows:
                if raw is None:
                    self._since = _after(value)
                    continue
                # Only names kept or asked for: others' changes are no one's business here.
                key = raw.decode("utf-8", errors="replace")
                if key in seen or key in unread:
                    seen[key] = int(value or 0)
        except BaseException:
            self._forget()
            raise
        for name in unread:  # one that matched no valid UTF-8 name (a lone surrogate)
            seen.setdefault(name, 0)
        registry = seen[REGISTRY_WIDE]
        return {name: (seen[name], registry) for name in names}

    def _forget(self) -> None:
        self._seen.clear()
        self._since = None

    def _connection(self) -> Any:
        if self._conn is None:
            self._conn = own_connection(self.engine)
        return self._conn

    def reset(self) -> None:
        """Drop the connection (after an error); the next read opens a new one."""
        self.close()

    def close(self) -> None:
        self._pg.close()
        self._forget()
        with self._lock:
            conn, self._conn = self._conn, None
            self._version = None
            self._known.clear()
        if conn is not None:
            try:
                conn.close()
            except Exception:  # already broken: nothing to release
                log.debug("closing the generation reader's connection failed", exc_info=True)
