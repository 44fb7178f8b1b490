"""PostgreSQL pool: a connection that sat idle is pinged before use, a busy one is not (issue 13).

SQLAlchemy's ``pool_pre_ping`` cost a round trip on every checkout (11 % of a worker's publish
samples). ``app.core.db`` now pings only a connection idle for ``IDLE_PING_AFTER`` seconds, and
replaces one that does not answer, so a database restart while the pool sat idle still costs
no request. Runs against the real PostgreSQL on 127.0.0.1:5432 whatever ``VOUCH_TEST_DB`` says.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from app.core import db
from tests.support.databases import empty_postgres_database, postgres_admin_url


@pytest.fixture
def pg_url() -> Iterator[str]:
    with empty_postgres_database("vouch_ping") as url:
        yield url


def _count_pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    pings: list[int] = []
    real = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(1)
        return real(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return pings


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


@pytest.fixture
def killed_while_idle(pg_url: str) -> Iterator[tuple[Engine, int]]:
    """A one-connection pool whose connection's backend was killed while it sat in the pool
    (as a database restart does to every pooled backend), and that backend's pid."""
    engine = db.make_engine(pg_url, pool_size=1, max_overflow=0)
    killer = create_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        pid = _backend_pid(engine)
        with killer.connect() as conn:
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"),
                                {"pid": pid}).scalar_one()
        time.sleep(0.2)
        yield engine, pid
    finally:
        killer.dispose()
        engine.dispose()


def test_a_connection_killed_while_idle_in_the_pool_costs_no_request(
        killed_while_idle: tuple[Engine, int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "IDLE_PING_AFTER", 0.05)
    engine, pid = killed_while_idle
    assert _backend_pid(engine) != pid  # answered, on a new connection


def test_without_the_idle_ping_that_request_would_have_failed(
        killed_while_idle: tuple[Engine, int], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "IDLE_PING_AFTER", 3600.0)
    engine, _ = killed_while_idle
    with pytest.raises(OperationalError):
        _backend_pid(engine)


def test_a_connection_in_steady_use_is_not_pinged(
        pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = db.make_engine(pg_url, pool_size=1, max_overflow=0)
    try:
        _backend_pid(engine)  # the connection exists and was just checked in
        pings = _count_pings(engine, monkeypatch)
        for _ in range(5):
            _backend_pid(engine)
        assert pings == []  # pool_pre_ping made one round trip per checkout here
    finally:
        engine.dispose()
