"""PostgreSQL's generation reads keep the generations they have read and ask only what changed
since their last snapshot (migration 0015, ``generations._FEED``; issue 13).

Every test acts as another replica or an operator would: writes on connections of their own,
committed or held open around the reader's queries, in every order a snapshot can see them.
The rule the reader keeps is issue 13's: a read sees every write committed before it started.
Runs against the real PostgreSQL on 127.0.0.1:5432 whatever ``VOUCH_TEST_DB`` says.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import Engine

from app.core.db import make_engine, upgrade
from app.publishing.generations import REGISTRY_WIDE, GenerationReader, Tag, bump
from tests.support.databases import empty_postgres_database


@pytest.fixture
def engine() -> Iterator[Engine]:
    with empty_postgres_database("vouch_feed") as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
            yield engine
        finally:
            engine.dispose()


def _connect(engine: Engine) -> psycopg.Connection[Any]:
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(url)


def _raise(conn: psycopg.Connection[Any], name: str) -> None:
    """What every write path does: raise ``name``'s generation (not committed here)."""
    conn.execute("INSERT INTO read_generations (name, generation) VALUES (%s, 1) "
                 "ON CONFLICT (name) DO UPDATE SET generation = read_generations.generation + 1",
                 (name,))


def _read(reader: GenerationReader, *names: str) -> list[Tag]:
    async def run() -> list[Tag]:
        return [await reader.read(name) for name in names]
    return asyncio.run(run())


@pytest.fixture
def reader(engine: Engine) -> Iterator[GenerationReader]:
    reader = GenerationReader(engine)
    try:
        yield reader
    finally:
        reader.close()


def test_a_commit_is_seen_by_the_next_read_of_a_name_already_read(
        engine: Engine, reader: GenerationReader) -> None:
    with _connect(engine) as other:
        _raise(other, "left-pad")
        other.commit()
        assert _read(reader, "left-pad", "right-pad") == [(1, 0), (0, 0)]
        _raise(other, "right-pad")
        _raise(other, REGISTRY_WIDE)
        other.commit()
        assert _read(reader, "left-pad", "right-pad") == [(1, 1), (1, 1)]


def test_a_transaction_in_progress_at_a_read_is_seen_once_it_commits_after_later_ones(
        engine: Engine, reader: GenerationReader) -> None:
    # The slow writer has the older transaction id: it is neither at nor above the xmax of
    # any snapshot taken while it runs, only in its list in progress.
    with _connect(engine) as slow, _connect(engine) as fast:
        assert _read(reader, "slow", "fast") == [(0, 0), (0, 0)]
        _raise(slow, "slow")  # holds its transaction open
        assert _read(reader, "slow", "fast") == [(0, 0), (0, 0)]
        _raise(fast, "fast")
        fast.commit()
        assert _read(reader, "slow", "fast") == [(0, 0), (1, 0)]
        slow.commit()
        assert _read(reader, "slow", "fast") == [(1, 0), (1, 0)]
        assert _read(reader, "slow") == [(1, 0)]


def test_a_rolled_back_write_changes_nothing(engine: Engine, reader: GenerationReader) -> None:
    with _connect(engine) as other:
        _raise(other, "pkg")
        other.commit()
        assert _read(reader, "pkg") == [(1, 0)]
        _raise(other, "pkg")
        assert _read(reader, "pkg") == [(1, 0)]
        other.rollback()
        assert _read(reader, "pkg") == [(1, 0)]


def test_the_registrys_own_bump_and_an_operators_sql_are_seen(
        engine: Engine, reader: GenerationReader) -> None:
    from sqlmodel import Session

    assert _read(reader, "a", "b") == [(0, 0), (0, 0)]
    with Session(engine) as session:
        bump(session, ["a", "b"])
        session.commit()
    assert _read(reader, "a", "b") == [(1, 0), (1, 0)]
    with _connect(engine) as operator:  # a hand-written UPDATE names no column but the count
        operator.execute("UPDATE read_generations SET generation = 41 WHERE name = 'b'")
        operator.commit()
    assert _read(reader, "a", "b") == [(1, 0), (41, 0)]


def test_rows_cannot_be_removed(engine: Engine) -> None:
    with _connect(engine) as operator:
        _raise(operator, "pkg")
        operator.commit()
        for statement in ("DELETE FROM read_generations WHERE name = 'pkg'",
                          "TRUNCATE read_generations"):
            with pytest.raises(psycopg.errors.RaiseException, match="never removed"):
                operator.execute(statement)
            operator.rollback()
        row = operator.execute("SELECT generation FROM read_generations WHERE name = 'pkg'")
        assert row.fetchone() == (1,)


def test_a_lost_connection_forgets_and_reads_again(
        engine: Engine, reader: GenerationReader) -> None:
    async def run(other: psycopg.Connection[Any]) -> None:  # one loop: one reader connection
        assert await reader.read("pkg") == (0, 0)
        other.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        _raise(other, "pkg")
        other.commit()
        with pytest.raises(psycopg.Error):
            await reader.read("pkg")
        assert reader._seen == {} and reader._since is None
        assert await reader.read("pkg") == (1, 0)

    with _connect(engine) as other:
        asyncio.run(run(other))


def test_the_plan_probes_indexes_on_a_table_planned_while_empty(engine: Engine) -> None:
    # The feed's plan is made once per connection: the first query of a new registry plans
    # for an empty table, and the plan must still probe indexes once it holds many rows.
    from app.publishing.generations import _FEED, FEED_SETTINGS

    with _connect(engine) as conn:
        conn.autocommit = True
        for setting in FEED_SETTINGS:
            conn.execute(f"SET {setting}")
        conn.execute(f"PREPARE feed AS {_FEED}")
        conn.execute("EXPLAIN EXECUTE feed(NULL, '{}', '{}', NULL)")  # planned here, empty
        conn.execute("INSERT INTO read_generations (name, generation) "
                     "SELECT 'pkg-' || i, 1 FROM generate_series(1, 5000) AS i")
        conn.execute("ANALYZE read_generations")
        plan = "\n".join(row[0] for row in conn.execute(
            "EXPLAIN EXECUTE feed('1000', '{990,995}', '{pkg-1,pkg-2}', '990')"))
    assert "Seq Scan" not in plan, plan
    assert plan.count("ix_read_generations_written") == 2, plan
    assert "read_generations_pkey" in plan, plan
