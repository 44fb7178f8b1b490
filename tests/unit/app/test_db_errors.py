"""Which real driver errors are database outages (503) and which stay bugs (500), issue 10.

Every error here is raised by the real driver: SQLite on a path it cannot open or a file whose
write lock another connection holds, PostgreSQL on a port nothing listens on and on a
constraint violation. The problem body never carries the driver's message.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError, OperationalError

from app.core.db_errors import database_outage
from app.core.errors import DatabaseUnavailable
from tests.support.postgres_instance import free_port


def _raised(engine_url: str, sql: str, **connect_args: object) -> BaseException:
    engine = create_engine(engine_url, connect_args=connect_args)
    try:
        with engine.connect() as connection:
            connection.execute(text(sql))
    except Exception as err:
        return err
    finally:
        engine.dispose()
    raise AssertionError("no error was raised")


def test_sqlite_cannot_open_the_file_is_an_outage(tmp_path: Path) -> None:
    (tmp_path / "not-a-dir").write_text("a file where a directory should be")
    err = _raised(f"sqlite:///{tmp_path}/not-a-dir/vouch.db", "SELECT 1")
    outage = database_outage(err)
    assert isinstance(outage, DatabaseUnavailable)
    assert outage.code == "database_unavailable" and outage.retry_after
    assert "not-a-dir" not in outage.detail and "open" not in outage.detail


def test_sqlite_write_lock_held_past_the_timeout_is_a_busy_outage(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x INTEGER)")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        err = _raised(f"sqlite:///{path}", "INSERT INTO t VALUES (1)", timeout=0.05)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "locked" in str(err)
    outage = database_outage(err)
    assert outage is not None and "busy" in outage.detail


def test_sqlite_sql_and_constraint_errors_are_not_outages(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/plain.db"
    assert database_outage(_raised(url, "SELECT * FROM no_such_table")) is None
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE u (x INTEGER UNIQUE)"))
        connection.execute(text("INSERT INTO u VALUES (1)"))
    with pytest.raises(IntegrityError) as caught, engine.begin() as connection:
        connection.execute(text("INSERT INTO u VALUES (1)"))
    engine.dispose()
    assert database_outage(caught.value) is None


def test_postgres_refused_connection_is_an_outage() -> None:
    err = _raised(f"postgresql+psycopg://vouch:s3cret@127.0.0.1:{free_port()}/vouch",
                  "SELECT 1", connect_timeout=5)
    assert isinstance(err, OperationalError)
    outage = database_outage(err)
    assert outage is not None
    assert "s3cret" not in outage.detail and "127.0.0.1" not in outage.detail


def test_an_outage_raised_from_inside_another_error_is_found() -> None:
    try:
        try:
            raise _raised(f"postgresql+psycopg://v@127.0.0.1:{free_port()}/v", "SELECT 1",
                          connect_timeout=5)
        except OperationalError as inner:
            raise RuntimeError("a service wrapped it") from inner
    except RuntimeError as outer:
        assert database_outage(outer) is not None
    assert database_outage(ValueError("unrelated")) is None
