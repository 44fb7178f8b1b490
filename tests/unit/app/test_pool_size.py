"""A worker's connection pool keeps what a worker uses at once (issue 13).

Each sync route holds a pooled connection for its session, and a worker runs up to 16 routes
at once under 32 clients on two workers. With fewer kept, the surplus was opened and closed
around every request: on PostgreSQL a new backend each time (routed document renders at
270-290 req/s against 464-519 with the surplus kept). Counted here with the pool's own
``connect`` events: a second wave of 16 concurrent sessions opens no connection. PostgreSQL is
the real server on 127.0.0.1:5432 whatever ``VOUCH_TEST_DB`` says.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from app.core.db import make_engine, session_scope
from tests.support.databases import empty_postgres_database

AT_ONCE = 16


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with ExitStack() as stack:
        url = (f"sqlite:///{tmp_path / 'pool.db'}" if request.param == "sqlite" else
               stack.enter_context(empty_postgres_database("vouch_pool")))
        made = make_engine(url)
        stack.callback(made.dispose)
        yield made


def _wave(engine: Engine) -> None:
    """``AT_ONCE`` read sessions open at the same moment, as a worker's routes are."""
    barrier = threading.Barrier(AT_ONCE)
    errors: list[BaseException] = []

    def read() -> None:
        try:
            with session_scope(engine) as session:
                session.execute(text("SELECT 1")).one()
                barrier.wait(timeout=30)  # every session holds its connection here at once
        except BaseException as err:  # reported by the test below
            errors.append(err)

    threads = [threading.Thread(target=read) for _ in range(AT_ONCE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


def test_a_second_wave_of_concurrent_sessions_opens_no_connection(engine: Engine) -> None:
    opened: list[int] = []
    event.listen(engine, "connect", lambda *_: opened.append(1))
    _wave(engine)
    assert len(opened) == AT_ONCE  # the first wave opened one each
    _wave(engine)
    assert len(opened) == AT_ONCE, "connections were closed and opened again"
