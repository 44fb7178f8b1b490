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
  trip, and none is answered by a query that began before it.

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

# PostgreSQL: one primary-key probe per name (a scalar subquery is never flattened). Written
# as ``WHERE name = ANY(...)``, the planner chose a sequential scan of every row (issue 13:
# 0.08-0.4 ms a batch at 1,000 packages, growing with the registry; 0.03 ms probed).
_TAGS = ("SELECT q.name, (SELECT g.generation FROM read_generations g WHERE g.name = q.name) "
         "FROM unnest($1::text[]) AS q(name)")


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


#: Concurrent tag queries per process on PostgreSQL (each lane has its own connection).
#: Two measured better than one while the query scanned the table (p99 7-12 ms against 22-28
#: ms); with one index probe per name, one lane gives bigger batches, so fewer round trips:
#: 18,300-19,000 metadata reads/s against 17,000-17,500 with two (1,000 packages, wrk at 32
#: connections, steady state), and one connection fewer per worker.
LANES = 1


class GenerationReader:
    """The current tag of a package: (its generation, the registry-wide generation)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self._conn: Any = None
        self._lock = threading.Lock()
        self._pg = [LoopConnection(engine) for _ in range(LANES)]
        # SQLite: tags read while data_version had the value ``_version``.
        self._version: int | None = None
        self._known: dict[str, Tag] = {}
        self._batches: Coalescer[str, Tag] = Coalescer(self._fetch, LANES)
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
                if len(self._known) > 100_000:
                    self._known.clear()
                self._known[name] = tag
            return tag

    async def _fetch(self, lane: int, names: list[str]) -> dict[str, Tag]:
        """PostgreSQL: the tags of ``names``, one query (the registry-wide row with them)."""
        rows = await self._pg[lane].query("vouch_tags", _TAGS,
                                          [text_array([*names, REGISTRY_WIDE])])
        generations = {name: int(generation or 0) for name, generation in rows}
        registry = generations.get(REGISTRY_WIDE.encode(), 0)
        return {name: (generations.get(name.encode("utf-8", errors="replace"), 0), registry)
                for name in names}

    def _connection(self) -> Any:
        if self._conn is None:
            self._conn = own_connection(self.engine)
        return self._conn

    def reset(self) -> None:
        """Drop the connection (after an error); the next read opens a new one."""
        self.close()

    def close(self) -> None:
        for lane in self._pg:
            lane.close()
        with self._lock:
            conn, self._conn = self._conn, None
            self._version = None
            self._known.clear()
        if conn is not None:
            try:
                conn.close()
            except Exception:  # already broken: nothing to release
                log.debug("closing the generation reader's connection failed", exc_info=True)
