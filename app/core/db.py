"""Database engine, sessions and migrations.

    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)                       # apply pending Alembic migrations
    with session_scope(engine) as session:
        ...

SQLite runs in WAL mode; writers queue on a lock within a process and on a ``flock`` of
``<database>.writers`` across processes (the busy timeout stays as a last resort), so
concurrent writers wait their turn instead of failing; PostgreSQL uses a small connection
pool. ``upgrade`` raises ``alembic`` errors unchanged.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlmodel import Session, create_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent.parent / "migrations"  # app/migrations


# Connections a worker's pool keeps, and how many more it opens when that many are busy (closed
# again when they come back). Each sync route holds one for its session, and a worker runs
# as many routes at once as its clients send (16 each under 32 clients on two workers, more
# when the kernel spreads the connections unevenly; at most the thread pool's 40): with 10
# kept (5 on SQLite), the rest were opened and closed around every request, a PostgreSQL
# backend each time (issue 13: routed document renders on PostgreSQL 270-290 req/s at 4.4-4.9
# ms of CPU a request; 414-462 keeping 20, 464-519 at 2.9-3.3 ms keeping 30). The most a worker
# opens, 40, is what it could use (two workers' 80 and their few own connections stay under
# PostgreSQL's default of 100).
POOL_SIZE = 30
MAX_OVERFLOW = 10


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine tuned for the backend named by ``url``."""
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and ":memory:" not in url and "mode=memory" not in url:
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            kwargs.setdefault("pool_size", POOL_SIZE)
            kwargs.setdefault("max_overflow", MAX_OVERFLOW)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    kwargs.setdefault("pool_size", POOL_SIZE)
    kwargs.setdefault("max_overflow", MAX_OVERFLOW)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "checkin", _checked_in)
    event.listen(engine, "checkout", partial(_ping_if_idle, engine))
    return engine


# A pooled PostgreSQL connection idle for longer than this is pinged before use (issue 13).
# SQLAlchemy's pool_pre_ping pinged on every checkout: one more round trip per session, 11 %
# of a worker's publish samples. A connection that was in use a moment ago is alive or its
# failure is seen by the statement itself (a disconnect error invalidates the whole pool).
IDLE_PING_AFTER = 1.0


def _checked_in(_: Any, record: Any) -> None:
    record.info["vouch_idle_since"] = time.monotonic()


def _ping_if_idle(engine: Engine, dbapi_connection: Any, record: Any, _: Any) -> None:
    """Ping a connection that sat in the pool; a dead one is replaced (``DisconnectionError``
    makes the pool connect again) rather than failing the request that drew it."""
    idle_since = record.info.get("vouch_idle_since")
    if idle_since is None or time.monotonic() - idle_since < IDLE_PING_AFTER:
        return
    try:
        engine.dialect.do_ping(dbapi_connection)
    except Exception as err:
        raise DisconnectionError("a pooled connection did not answer its ping") from err


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    # Let SQLAlchemy own transactions (pysqlite's implicit BEGIN is off), see "begin" below.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    # A write transaction takes the lock up front (BEGIN IMMEDIATE), so two writers queue on
    # the busy timeout instead of one failing at once on a read-to-write upgrade. Readers use
    # a deferred BEGIN and are never blocked in WAL mode.
    immediate = connection.get_execution_options().get("vouch_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # imported when migrating only (issue 13: memory)

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine: Engine) -> None:
    """Apply every pending migration to the database behind ``engine``."""
    from alembic import command

    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@contextmanager
def session_scope(engine: Engine, *, write: bool = False,
                  snapshot: bool = True) -> Iterator[Session]:
    """A session that commits on success and rolls back on any exception.

    ``write=True`` marks a transaction that will write (SQLite takes its lock at BEGIN).
    ``snapshot=False``, for reads only: each statement may see the latest commit (PostgreSQL
    runs them in autocommit mode, saving the BEGIN and the ROLLBACK/COMMIT round trips). For
    reads that need no consistent snapshot across statements: a single lookup, or checks a
    later write transaction makes again (the publish's early refusals).
    """
    bind: Engine
    if write:
        bind = _writes(engine)
    elif snapshot:
        bind = engine
    else:
        bind = autocommit(engine)
    sqlite_write = write and engine.dialect.name == "sqlite"
    lock = _write_lock(engine) if sqlite_write else nullcontext()
    writers = _writers_queue(engine) if sqlite_write else nullcontext()
    with lock, writers, Session(bind, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def autocommit(engine: Engine) -> Engine:
    """``engine`` in autocommit mode on PostgreSQL (no BEGIN, no COMMIT/ROLLBACK round
    trips; psycopg switches the mode locally). Only for reads that need no snapshot. SQLite's
    engine is returned as it is: its transactions cost no round trip, and SQLAlchemy's
    isolation reset would turn pysqlite's implicit BEGIN back on (see ``_sqlite_pragmas``)."""
    if engine.dialect.name != "postgresql":
        return engine
    with _LOCKS_GUARD:
        option = _AUTOCOMMIT.get(engine)
        if option is None:
            option = _AUTOCOMMIT[engine] = engine.execution_options(isolation_level="AUTOCOMMIT")
        return option


def _writes(engine: Engine) -> Engine:
    """``engine`` marked for write transactions (``vouch_write``: SQLite begins them with
    ``BEGIN IMMEDIATE``), made once per engine: a new option engine per session cost a fifth
    of an empty session's CPU (issue 13)."""
    with _LOCKS_GUARD:
        option = _WRITES.get(engine)
        if option is None:
            option = _WRITES[engine] = engine.execution_options(vouch_write=True)
        return option


_AUTOCOMMIT: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()
_WRITES: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()
_WRITE_LOCKS: WeakKeyDictionary[Engine, threading.Lock] = WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def _write_lock(engine: Engine) -> threading.Lock:
    """SQLite has one writer at a time. Queue this process's writers on a lock: its waiters
    wake the moment it is free, whereas SQLite's busy handler sleeps in growing steps (up to
    100 ms), which cut concurrent publish throughput several-fold. Across processes writers
    queue on ``_writers_queue``."""
    with _LOCKS_GUARD:
        lock = _WRITE_LOCKS.get(engine)
        if lock is None:
            lock = _WRITE_LOCKS[engine] = threading.Lock()
        return lock


_WRITERS_FILES: WeakKeyDictionary[Engine, tuple[int, int]] = WeakKeyDictionary()  # pid, fd


@contextmanager
def _writers_queue(engine: Engine) -> Iterator[None]:
    """The queue of writers across processes (``vouch serve --workers N``, `vouch worker`):
    a blocking ``flock`` on ``<database>.writers``, taken after this process's lock and
    released after the commit or rollback. The kernel wakes the next waiter when it is free
    (the GIL is released meanwhile); without it the other processes' writers wait in SQLite's
    busy handler, whose sleeps grow to 100 ms while this process's threads pass the database
    among themselves (issue 13: publish p99 on SQLite, two workers, 8 clients, 11 interleaved
    pairs of runs at load 5-15: median 242 -> 208 ms unsigned, 486 -> 254 ms with Sigstore;
    throughput and CPU unchanged). A process that dies releases its lock with it. A writer
    waits for another process's transaction however long it lasts, as it always did for one
    of its own process; the 30 s busy timeout still bounds a wait for a lock taken outside the
    queue (another program, a migration). Not for in-memory databases."""
    fd = _writers_file(engine)
    if fd is None:
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _writers_file(engine: Engine) -> int | None:
    database = engine.url.database
    if not database or database == ":memory:" or "mode=memory" in str(engine.url):
        return None
    with _LOCKS_GUARD:
        opened = _WRITERS_FILES.get(engine)
        if opened is not None and opened[0] == os.getpid():
            return opened[1]
        # An engine inherited through fork gets its own open file: a shared one would make
        # the two processes one flock holder. Read-only is enough for flock, so a process of
        # another user can queue too; where the file cannot be made, the busy timeout it is.
        try:
            fd = os.open(f"{database}.writers", os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError:
            return None
        _WRITERS_FILES[engine] = (os.getpid(), fd)
        weakref.finalize(engine, os.close, fd)
        return fd
