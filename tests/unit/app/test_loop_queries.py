"""``LoopConnection.query``: libpq's asynchronous calls on the event loop (issue 13).

The fast read paths send request text (package names and versions from the URL) to
PostgreSQL through ``text_array``; a name that quotes, escapes or spells ``NULL`` must come
back as itself and match only itself. A failed query must leave the connection usable: it is
closed and the next query opens a new one. Runs against the real PostgreSQL on 127.0.0.1:5432
whatever ``VOUCH_TEST_DB`` says.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy.engine import Engine

from app.core.db import make_engine
from app.core.loop_queries import LoopConnection, text_array
from tests.support.databases import empty_postgres_database

ECHO = "SELECT q.item, length(q.item) FROM unnest($1::text[]) AS q(item)"
TRICKY = ['a,b', 'say "hi"', "back\\slash", "{braces}", "NULL", " spaced ", "", "é-ü",
          "@scope/name", "x\\\"y"]


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    with empty_postgres_database("vouch_loop") as url:
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


def test_text_arrays_carry_any_name_as_itself(engine: Engine) -> None:
    async def scenario() -> list[tuple[bytes | None, ...]]:
        lane = LoopConnection(engine)
        try:
            return await lane.query("echo", ECHO, [text_array(TRICKY)])
        finally:
            lane.close()

    rows = asyncio.run(scenario())
    assert [row[0].decode() if row[0] is not None else None for row in rows] == TRICKY
    assert [int(row[1] or -1) for row in rows] == [len(item) for item in TRICKY]


def test_a_name_that_is_not_utf8_matches_nothing_instead_of_failing() -> None:
    assert text_array(["ok", "bad\udcff"]) == b'{"ok","bad?"}'


def test_a_failed_query_closes_the_connection_and_the_next_one_works(engine: Engine) -> None:
    async def scenario() -> None:
        lane = LoopConnection(engine)
        try:
            with pytest.raises(psycopg.DatabaseError, match="no_such_table"):
                await lane.query("broken", "SELECT * FROM no_such_table WHERE x = $1", [b"1"])
            rows = await lane.query("echo", ECHO, [text_array(["still here"])])
            assert rows == [(b"still here", b"10")]
            # prepared once per connection: asked again, the statement is reused
            assert await lane.query("echo", ECHO, [text_array(["again"])]) == [
                (b"again", b"5")]
        finally:
            lane.close()

    asyncio.run(scenario())


def test_a_connection_killed_by_the_server_fails_one_query_then_reconnects(
        engine: Engine) -> None:
    async def scenario() -> None:
        lane = LoopConnection(engine)
        try:
            pid = (await lane.get()).pgconn.backend_pid
            await lane.query("echo", ECHO, [text_array(["before"])])
            admin = await psycopg.AsyncConnection.connect(lane.conninfo, autocommit=True)
            async with admin:
                await admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            with pytest.raises(psycopg.Error):
                await lane.query("echo", ECHO, [text_array(["lost"])])
            assert await lane.query("echo", ECHO, [text_array(["after"])]) == [
                (b"after", b"5")]
            assert (await lane.get()).pgconn.backend_pid != pid
        finally:
            lane.close()

    asyncio.run(scenario())
