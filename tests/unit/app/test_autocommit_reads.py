"""Reads that need no snapshot cost no BEGIN/ROLLBACK round trips on PostgreSQL (issue 13).

The token lookup and a publish's early refusals (decided again in the write transaction) run
in autocommit mode: psycopg sends no BEGIN before the first statement and no ROLLBACK/COMMIT
after the last. Everything else keeps its transaction. Runs against the real PostgreSQL on
127.0.0.1:5432 whatever ``VOUCH_TEST_DB`` says, and on a SQLite file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import Session

from app.core.db import autocommit, make_engine, session_scope
from tests.support.databases import empty_postgres_database


@pytest.fixture
def pg_url() -> Iterator[str]:
    with empty_postgres_database("vouch_ac") as url:
        yield url


def _raw(connection: Connection) -> Any:
    return connection.connection.dbapi_connection


def _status(session: Session) -> TransactionStatus:
    session.execute(text("SELECT 1"))
    return TransactionStatus(_raw(session.connection()).info.transaction_status)


def test_a_read_without_snapshot_opens_no_transaction_on_postgresql(pg_url: str) -> None:
    engine = make_engine(pg_url)
    try:
        with session_scope(engine, snapshot=False) as session:
            assert _status(session) == TransactionStatus.IDLE  # no BEGIN was sent
        with autocommit(engine).connect() as connection:
            connection.execute(text("SELECT 1"))
            assert _raw(connection).info.transaction_status == TransactionStatus.IDLE
        # The same pooled connection, drawn by an ordinary read, is in a transaction again.
        with session_scope(engine) as session:
            assert _status(session) == TransactionStatus.INTRANS
        with session_scope(engine, write=True) as session:
            assert _status(session) == TransactionStatus.INTRANS
    finally:
        engine.dispose()


def test_sqlite_keeps_its_own_transaction_handling(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'v.db'}")
    try:
        assert autocommit(engine) is engine
        with session_scope(engine, snapshot=False) as session:
            session.execute(text("SELECT 1"))
            # pysqlite's implicit BEGIN stays off
            assert _raw(session.connection()).isolation_level is None
    finally:
        engine.dispose()
