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

    def __init__(self, engine: Engine, *, settings: Sequence[str] = ()) -> None:
        self.conninfo = engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False)
        self.settings = tuple(settings)  # ``SET`` on every connection opened: constants only
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
            conn = await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True)
            try:
                for setting in self.settings:
                    await conn.execute(f"SET {setting}")
            except BaseException:
                await conn.close()
                raise
            conn.pgconn.nonblocking = 1
            self._conn, self._loop = conn, loop
        return self._conn

    async def query(self, name: str, sql: str, params: Sequence[bytes | None]) -> list[Row]:
        """The rows of ``sql`` (``$1``-style placeholders, text parameters, ``None`` for
        NULL), prepared once per connection as ``name``. Raises ``psycopg.Error`` for
        anything that goes wrong, having closed the connection first (the next query opens a
        new one); so does a cancelled query, which would leave its answer in the socket."""
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
        (loop.add_writer if write else loop.add_reader)(fd, _set_once, ready)
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

    Under load, lookups come in cohorts: the clients a call answers send their next requests
    while the following call, holding the others, is in flight, so each call carries only
    part of the lookups in progress. So the call after an answered one is held until as many
    lookups wait as were in progress when it answered (those it answered, and those that
    were waiting), for at most ``hold`` seconds after that answer: one call for all cohorts
    of a closed loop of busy clients (issue 13: on PostgreSQL, metadata reads went from 8 to
    11-20 lookups a query and from 30,300-32,100 to 37,300-39,800 req/s). A hold only delays
    a call, so every lookup is still answered by a call that started after it was made. A
    lookup that arrives ``hold`` seconds or more after the last answer goes at once, as one
    that arrives at an idle lane always did; and when a hold runs out (the answered clients
    did not come back), the next ``SKIP_AFTER_TIMEOUT`` calls go at once, so traffic that is
    not such a loop does not pay the wait.
    """

    #: Calls sent without a hold after a hold ran out.
    SKIP_AFTER_TIMEOUT = 8

    def __init__(self, fetch: Callable[[int, list[K]], Awaitable[dict[K, V]]],
                 lanes: int = 1, *, hold: float = 0.002) -> None:
        self._fetch = fetch
        self._waiting: dict[K, list[asyncio.Future[V | None]]] = {}
        self._idle = list(range(lanes))
        self._tasks: set[asyncio.Future[None]] = set()
        self._hold = hold
        self._count = 0  # lookups waiting (not keys: one key can be asked for many times)
        self._target = 0  # lookups in progress at the last answer
        self._until = 0.0  # the loop's time a hold ends: ``hold`` after the last answer
        self._full: asyncio.Future[None] | None = None  # set once ``_target`` lookups wait
        self._skip = 0  # calls left to send without a hold

    async def get(self, key: K) -> V | None:
        return await self.submit(key)

    def submit(self, key: K) -> asyncio.Future[V | None]:
        """The lookup of ``key`` as a future (for callers that are callbacks, not tasks)."""
        future: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(future)
        self._count += 1
        full = self._full
        if full is not None and self._count >= self._target and not full.done():
            full.set_result(None)
        if self._idle:
            task = asyncio.ensure_future(self._drain(self._idle.pop()))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return future

    async def _drain(self, lane: int) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                if self._hold:
                    await self._gather(loop)
                batch, self._waiting = self._waiting, {}
                answered, self._count = self._count, 0
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
                self._target = answered + self._count
                self._until = loop.time() + self._hold
        finally:
            self._idle.append(lane)

    async def _gather(self, loop: asyncio.AbstractEventLoop) -> None:
        """Return once ``_target`` lookups wait or the hold's time is up (then skip the holds
        of the next ``SKIP_AFTER_TIMEOUT`` calls); at once when no hold applies."""
        left = self._until - loop.time()
        if left <= 0 or self._count >= self._target or self._full is not None:
            return  # nothing to wait for, or another lane holds already
        if self._skip:
            self._skip -= 1
            return
        full = self._full = loop.create_future()
        timer = loop.call_later(left, _set_once, full)
        try:
            await full
        finally:
            timer.cancel()
            self._full = None
        if self._count < self._target:
            self._skip = self.SKIP_AFTER_TIMEOUT


def _set_once(future: asyncio.Future[None]) -> None:
    """Wake ``future``'s waiter (a socket ready, a hold's time up); a second wake is a no-op."""
    if not future.done():
        future.set_result(None)
