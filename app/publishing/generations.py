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
- PostgreSQL: one query on a connection of this process's own, run on the event loop with
  psycopg's async API (``LoopConnection``: no thread hop); concurrent requests share it
  (``Coalescer``): each waits for the first query that starts after it arrived, so many
  requests cost one round trip, and none is answered by a query that began before it.

``read`` raises on database errors; callers then let the routed path answer (it has the
``database_unavailable`` mapping).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable, Hashable, Iterable
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import Engine
from sqlmodel import Session

log = logging.getLogger("vouch.generations")

REGISTRY_WIDE = "*"
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
         "FROM unnest(%s::text[]) AS q(name)")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


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


def own_connection(engine: Engine) -> Any:
    """SQLite: a DBAPI connection with the engine's pragmas, detached from the pool, in
    autocommit mode: each statement reads the latest commit (PostgreSQL reads go through
    ``LoopConnection``)."""
    fairy = engine.raw_connection()
    fairy.detach()
    conn: Any = fairy.dbapi_connection
    conn.isolation_level = None
    return conn


class LoopConnection:
    """PostgreSQL: an autocommit connection of this process's own, used on the event loop
    through psycopg's async API, so a query costs a round trip but no thread hop.

    It belongs to the loop that opened it; asked for from another loop (a test client runs
    each request on its own), it is dropped and opened again there. Callers run one query at
    a time (``Coalescer``). ``close`` is synchronous: psycopg's close only ends the socket.
    """

    def __init__(self, engine: Engine) -> None:
        self.conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False)
        self._conn: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def get(self) -> Any:
        import psycopg  # PostgreSQL only

        loop = asyncio.get_running_loop()
        if self._conn is not None and (self._loop is not loop or self._conn.closed):
            self.close()
        if self._conn is None:
            self._conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
            self._loop = loop
        return self._conn

    def close(self) -> None:
        conn, self._conn, self._loop = self._conn, None, None
        if conn is not None:
            try:
                conn.pgconn.finish()
            except Exception:  # already broken: nothing to release
                log.debug("closing a loop connection failed", exc_info=True)


class Coalescer(Generic[K, V]):
    """Many concurrent lookups answered by few awaited ``fetch(lane, keys)`` calls.

    A lookup is answered only by a call that started after it was made (so it sees every
    commit that preceded it). Up to ``lanes`` calls run at once, each on its own lane (a
    connection of its own): a lookup that arrives while every lane is busy waits for the next
    free one, and those that arrive meanwhile form that call's batch; one that arrives while
    a lane is idle starts a call at once instead of waiting for a round trip in flight (issue
    13: with one lane, PostgreSQL downloads were bound by one query's latency per batch).
    ``fetch`` returns the found keys; missing ones get ``None``. An exception from ``fetch``
    is raised in every lookup of its batch.
    """

    def __init__(self, fetch: Callable[[int, list[K]], Awaitable[dict[K, V]]],
                 lanes: int = 1) -> None:
        self._fetch = fetch
        self._waiting: dict[K, list[asyncio.Future[V | None]]] = {}
        self._idle = list(range(lanes))
        self._tasks: set[asyncio.Future[None]] = set()

    async def get(self, key: K) -> V | None:
        future: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(future)
        if self._idle:
            task = asyncio.ensure_future(self._drain(self._idle.pop()))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _drain(self, lane: int) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, {}
                try:
                    found = await self._fetch(lane, list(batch))
                except Exception as err:
                    for futures in batch.values():
                        for future in futures:
                            if not future.done():
                                future.set_exception(err)
                    continue
                for key, futures in batch.items():
                    value = found.get(key)
                    for future in futures:
                        if not future.done():
                            future.set_result(value)
        finally:
            self._idle.append(lane)


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

    async def read(self, name: str) -> Tag:
        if self.sqlite:
            return self.read_now(name)
        tag = await self._batches.get(name)
        assert tag is not None  # _fetch answers every name it is asked
        return tag

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
        conn = await self._pg[lane].get()
        async with conn.cursor() as cursor:
            await cursor.execute(_TAGS, ([*names, REGISTRY_WIDE],))
            rows = {name: int(generation or 0)
                    for name, generation in await cursor.fetchall()}
        registry = rows.get(REGISTRY_WIDE, 0)
        return {name: (rows.get(name, 0), registry) for name in names}

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
