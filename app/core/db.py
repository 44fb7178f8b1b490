"""Database engine, sessions and migrations.

    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)                       # apply pending Alembic migrations
    with session_scope(engine) as session:
        ...

SQLite runs in WAL mode with a busy timeout so concurrent writers queue instead of failing;
PostgreSQL uses a small connection pool. ``upgrade`` raises ``alembic`` errors unchanged.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent.parent / "migrations"  # app/migrations


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine tuned for the backend named by ``url``."""
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, pool_pre_ping=True, **kwargs)


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
def session_scope(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """A session that commits on success and rolls back on any exception.

    ``write=True`` marks a transaction that will write (SQLite takes its lock at BEGIN).
    """
    bind = engine.execution_options(vouch_write=True) if write else engine
    lock = _write_lock(engine) if write and engine.dialect.name == "sqlite" else nullcontext()
    with lock, Session(bind, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


_WRITE_LOCKS: WeakKeyDictionary[Engine, _SqliteWriteLock] = WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


class _SqliteWriteLock:
    """SQLite has one writer at a time; this queues writers on locks that wake a waiter the
    moment the writer ends, where SQLite's busy handler sleeps in growing steps (up to 100 ms)
    and retries. First this process's threads queue on a ``threading.Lock``; then its one
    waiter queues with the other processes (``vouch serve --workers N``) on an exclusive
    ``flock`` of ``<database>.writelock`` (issue 13: with only the busy handler between them,
    the two workers handed the database to each other by polling, a publish's p99 was seconds
    and a worker could starve). An in-memory database has no file and no other process: the
    thread lock alone. The busy timeout stays as the fallback for writers that do not come
    through ``session_scope(write=True)``. A held ``flock`` dies with its process."""

    def __init__(self, database: str | None) -> None:
        self._threads = threading.Lock()
        self._path = (Path(database + ".writelock")
                      if database and database != ":memory:" and not database.startswith("file:")
                      else None)
        self._fd: int | None = None
        self._pid = 0

    def __enter__(self) -> None:
        self._threads.acquire()
        try:
            fd = self._file()
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)  # releases the GIL while it waits
        except BaseException:
            self._threads.release()
            raise

    def __exit__(self, *_: object) -> None:
        try:
            if self._fd is not None and self._pid == os.getpid():
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def __del__(self) -> None:  # the engine is gone (tests make one per database)
        if self._fd is not None and self._pid == os.getpid():
            os.close(self._fd)

    def _file(self) -> int | None:
        """This process's descriptor of the lock file (a forked child opens its own: a
        ``flock`` belongs to the open file, which a fork would share)."""
        if self._path is None:
            return None
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._pid = os.getpid()
        return self._fd


def _write_lock(engine: Engine) -> _SqliteWriteLock:
    with _LOCKS_GUARD:
        lock = _WRITE_LOCKS.get(engine)
        if lock is None:
            lock = _WRITE_LOCKS[engine] = _SqliteWriteLock(engine.url.database)
        return lock
