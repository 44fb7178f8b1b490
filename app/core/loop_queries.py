"""Database reads on the event loop, shared by concurrent requests (issue 13).

    lane = LoopConnection(engine)                                   # one per lane and process
    rows = await lane.query("vouch_tags", "SELECT ... $1::text[]", [text_array(names)])
    batches = Coalescer(fetch, lanes=1)                             # fetch(lane, keys) -> dict
    value = await batches.get(key)

The fast read paths (``generations``, ``fast_downloads``) ask PostgreSQL on every request, so
the cost of one query is paid thousands of times a second. ``LoopConnection.query`` runs a
prepared statement with libpq's own asynchronous calls, waiting for the socket on the event
loop: measured here, 23 µs of CPU a query against 62 µs through psycopg's async cursor (which
adapts parameters, builds a cursor and runs its wait generators in Python for each query).
Parameters and results are PostgreSQL's text format: ``text_array`` writes an array literal,
values come back as ``bytes`` (``None`` for NULL). SQLite's reads on the loop use a connection
of their own instead (``own_connection``): a local read costs tens of microseconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy.engine import Engine

log = logging.getLogger("vouch.loop_queries")

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
Row = tuple["bytes | None", ...]


def text_array(items: Iterable[str]) -> bytes:
    """``items`` as a PostgreSQL text-array literal, every element quoted (so commas, braces,
    spaces and ``NULL`` are plain text). Text that is not valid UTF-8 (a path's lone
    surrogate) is replaced, so it matches no name instead of failing the whole batch."""
    quoted = ('"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"' for item in items)
    return ("{" + ",".join(quoted) + "}").encode("utf-8", errors="replace")


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
    """PostgreSQL: an autocommit connection of this process's own, used on the event loop, so
    a query costs a round trip but no thread hop.

    It belongs to the loop that opened it; asked for from another loop (a test client runs
    each request on its own), it is dropped and opened again there. Callers run one query at
    a time (``Coalescer``). ``close`` is synchronous: it only ends the socket.
    """

    def __init__(self, engine: Engine) -> None:
        self.conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False)
        self._conn: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._prepared: set[str] = set()

    async def get(self) -> Any:
        """The psycopg connection (opened on first use, asynchronously)."""
        import psycopg  # PostgreSQL only

        loop = asyncio.get_running_loop()
        if self._conn is not None and (self._loop is not loop or self._conn.closed):
            self.close()
        if self._conn is None:
            self._conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
            self._conn.pgconn.nonblocking = 1
            self._loop = loop
        return self._conn

    async def query(self, name: str, sql: str, params: Sequence[bytes]) -> list[Row]:
        """The rows of ``sql`` (``$1``-style placeholders, text parameters), prepared once per
        connection as ``name``. Raises ``psycopg.Error`` for anything that goes wrong, having
        closed the connection first (the next query opens a new one); so does a cancelled
        query, which would leave its answer in the socket."""
        import psycopg  # PostgreSQL only

        pgconn = (await self.get()).pgconn
        try:
            if name not in self._prepared:
                pgconn.send_prepare(name.encode(), sql.encode())
                await self._result(pgconn, psycopg.pq.ExecStatus.COMMAND_OK)
                self._prepared.add(name)
            pgconn.send_query_prepared(name.encode(), list(params))
            result = await self._result(pgconn, psycopg.pq.ExecStatus.TUPLES_OK)
        except BaseException:
            self.close()
            raise
        columns = range(result.nfields)
        return [tuple(result.get_value(row, column) for column in columns)
                for row in range(result.ntuples)]

    async def _result(self, pgconn: Any, expected: Any) -> Any:
        """Send what is queued, then read the one result of the statement sent (and the end
        of its results); raises ``psycopg.DatabaseError`` unless its status is ``expected``."""
        import psycopg  # PostgreSQL only

        while pgconn.flush():
            await self._ready(pgconn.socket, write=True)
        results = []
        while True:
            while pgconn.is_busy():
                await self._ready(pgconn.socket)
                pgconn.consume_input()
            result = pgconn.get_result()
            if result is None:
                break
            results.append(result)
        if len(results) != 1 or results[0].status != expected:
            message = (results[-1].error_message.decode(errors="replace") if results
                       else "no result")
            raise psycopg.DatabaseError(f"loop query failed: {message}")
        return results[0]

    async def _ready(self, fd: int, *, write: bool = False) -> None:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        (loop.add_writer if write else loop.add_reader)(fd, wake)
        try:
            await ready
        finally:
            (loop.remove_writer if write else loop.remove_reader)(fd)

    def close(self) -> None:
        conn, self._conn, self._loop = self._conn, None, None
        self._prepared.clear()
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
        return await self.submit(key)

    def submit(self, key: K) -> asyncio.Future[V | None]:
        """The lookup of ``key`` as a future (for callers that are callbacks, not tasks)."""
        future: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(future)
        if self._idle:
            task = asyncio.ensure_future(self._drain(self._idle.pop()))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return future

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
