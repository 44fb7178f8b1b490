"""``TokenLookup``: the token gate's lookup on the event loop (issue 13).

The loop's queries decode the databases' values themselves (PostgreSQL's text format,
SQLite's stored text), and on PostgreSQL one query answers many requests; neither may change
an answer. Every case here is asked of the loop and of ``authenticate`` (the thread pool's
lookup) and must get the same principal or the same refusal: concurrent requests with
different tokens, a revoked token, an expiry to the microsecond (on PostgreSQL also in a
session whose time zone is not UTC), a disabled account, a trusted publisher's token, tokens
limited to actions and packages. A lookup whose connection broke is answered through the
thread pool, still exactly. Runs against the real PostgreSQL on 127.0.0.1:5432 and a SQLite
file, whatever ``VOUCH_TEST_DB`` says.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from app.accounts import tokens
from app.accounts.service import Principal, authenticate, create_token, create_user
from app.accounts.token_lookup import TokenLookup
from app.core.clock import ManualClock
from app.core.db import make_engine, session_scope, upgrade
from app.core.errors import InvalidToken
from app.core.models import ApiToken, TrustedPublisher
from tests.support.databases import empty_postgres_database

START = datetime(2026, 12, 6, 10, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture()
def postgres() -> Iterator[Engine]:
    with empty_postgres_database("vouch_tokens") as url:
        engine = make_engine(url)
        upgrade(engine)
        try:
            yield engine
        finally:
            engine.dispose()


@pytest.fixture()
def sqlite(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'vouch.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["postgres", "sqlite"])
def engine(request: pytest.FixtureRequest) -> Engine:
    made: Engine = request.getfixturevalue(request.param)
    return made


def _tokens(engine: Engine) -> dict[str, str]:
    """Secrets of every kind, by what they are."""
    with session_scope(engine, write=True) as session:
        alice = create_user(session, "alice", now=START, actor=None, admin=True)
        bob = create_user(session, "bob", now=START, actor=None, security=True)
        carol = create_user(session, "carol", now=START, actor=None)
        _, alice_secret = create_token(session, alice, now=START)
        _, bob_limited = create_token(session, bob, now=START, actions=["publish"],
                                      packages=["@bob/*"])
        _, expiring = create_token(session, alice, now=START, expires_in=timedelta(hours=1))
        revoked_row, revoked = create_token(session, bob, now=START)
        revoked_row.revoked_at = START
        _, disabled = create_token(session, carol, now=START)
        publisher = TrustedPublisher(package_name="left-pad", provider="github",
                                     repository="acme/left-pad", workflow="release.yml",
                                     created_at=START, created_by="alice")
        session.add(publisher)
        session.flush()
        assert publisher.id is not None
        minted = ApiToken(trusted_publisher_id=publisher.id, name="github:acme/left-pad",
                          token_hash="", prefix="", actions=["publish"],
                          package_patterns=["left-pad"], created_at=START)
        minted_secret = _set_secret(minted)
        session.add(minted)
    with engine.begin() as conn:
        conn.execute(text("UPDATE users SET disabled_at = :at WHERE name = 'carol'"),
                     {"at": START})
    return {"admin": alice_secret, "limited": bob_limited, "expiring": expiring,
            "revoked": revoked, "disabled": disabled, "publisher": minted_secret,
            "unknown": "vouch_" + "B" * 43, "malformed": "not-a-token"}


def _set_secret(row: ApiToken) -> str:
    secret = tokens.new_secret()
    row.token_hash, row.prefix = tokens.hash_secret(secret), tokens.display_prefix(secret)
    return secret


def _expected(engine: Engine, secret: str, now: datetime) -> Principal | str:
    """``authenticate``'s answer: the principal, or the refusal's message."""
    try:
        with session_scope(engine) as session:
            return authenticate(session, secret, now=now)
    except InvalidToken as err:
        return err.detail


async def _answers(lookup: TokenLookup, secrets: list[str]) -> list[Principal | str]:
    async def one(secret: str) -> Principal | str:
        try:
            return await lookup.principal(secret)
        except InvalidToken as err:
            return err.detail

    return list(await asyncio.gather(*(one(secret) for secret in secrets)))


def test_concurrent_lookups_on_the_loop_answer_as_authenticate_does(engine: Engine) -> None:
    secrets = _tokens(engine)
    clock = ManualClock(START + timedelta(minutes=5))
    asked = [secret for _ in range(5) for secret in secrets.values()]
    lookup = TokenLookup(engine, clock)
    queries: list[int] = []  # PostgreSQL: the digests of each query
    fetch = lookup._fetch

    async def counted(lane: int, digests: list[str]) -> dict[str, object]:
        queries.append(len(digests))
        return await fetch(lane, digests)

    lookup._batches._fetch = counted  # type: ignore[method-assign,assignment]
    try:
        answers = asyncio.run(_answers(lookup, asked))
    finally:
        lookup.close()
    assert answers == [_expected(engine, secret, clock.now()) for secret in asked]
    assert lookup._off_until == 0  # answered on the loop, not by the thread pool's fallback
    by_kind = dict(zip(secrets, answers, strict=False))
    assert isinstance(by_kind["admin"], Principal) and by_kind["admin"].is_admin
    assert isinstance(by_kind["limited"], Principal)
    assert by_kind["limited"].actions == ["publish"]
    assert by_kind["limited"].package_patterns == ["@bob/*"]
    assert by_kind["limited"].is_security
    assert isinstance(by_kind["publisher"], Principal)
    assert by_kind["publisher"].user_id is None and by_kind["publisher"].trusted_publisher_id
    assert isinstance(by_kind["expiring"], Principal)
    assert by_kind["revoked"] == "the token was revoked"
    assert by_kind["disabled"] == "the token's account is disabled"
    assert by_kind["unknown"] == "the token is unknown"
    assert by_kind["malformed"] == "the token is not a Vouch API token"
    if engine.dialect.name == "postgresql":
        # many requests, few queries (each with several digests): the batching was exercised
        assert len(queries) < len(asked) - len(secrets) and max(queries) > 1


def test_an_expiry_holds_to_the_microsecond(engine: Engine) -> None:
    _expires_exactly(engine)


@pytest.mark.parametrize("zone", ["America/St_Johns", "Asia/Kathmandu"])
def test_an_expiry_holds_to_the_microsecond_in_any_session_time_zone(
        postgres: Engine, zone: str) -> None:
    database = postgres.url.database
    with postgres.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"ALTER DATABASE \"{database}\" SET timezone = '{zone}'"))
        conn.execute(text(f"ALTER DATABASE \"{database}\" SET datestyle = 'SQL, DMY'"))
    _expires_exactly(postgres)


def _expires_exactly(engine: Engine) -> None:
    secrets = _tokens(engine)
    expiry = START + timedelta(hours=1)
    for now, expired in ((expiry - timedelta(microseconds=1), False), (expiry, True)):
        lookup = TokenLookup(engine, ManualClock(now))
        try:
            (answer,) = asyncio.run(_answers(lookup, [secrets["expiring"]]))
        finally:
            lookup.close()
        assert answer == _expected(engine, secrets["expiring"], now)
        assert (answer == "the token has expired") is expired


def test_a_killed_loop_connection_falls_back_to_the_thread_pool_exactly(
        postgres: Engine) -> None:
    engine = postgres
    secrets = _tokens(engine)
    clock = ManualClock(START + timedelta(minutes=5))
    lookup = TokenLookup(engine, clock)

    async def scenario() -> list[Principal | str]:
        before = await _answers(lookup, [secrets["admin"]])
        pid = (await lookup._lane.get()).pgconn.backend_pid
        admin = await psycopg.AsyncConnection.connect(lookup._lane.conninfo, autocommit=True)
        async with admin:
            await admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        after = await _answers(lookup, [secrets["admin"], secrets["revoked"]])
        return before + after

    try:
        answers = asyncio.run(scenario())
    finally:
        lookup.close()
    assert answers == [_expected(engine, s, clock.now())
                       for s in (secrets["admin"], secrets["admin"], secrets["revoked"])]
    assert lookup._off_until > 0  # the loop's lookups are off for a while: the pool answered


def test_a_broken_sqlite_connection_falls_back_to_the_thread_pool_exactly(
        sqlite: Engine) -> None:
    secrets = _tokens(sqlite)
    clock = ManualClock(START + timedelta(minutes=5))
    lookup = TokenLookup(sqlite, clock)
    try:
        before = asyncio.run(_answers(lookup, [secrets["admin"]]))
        lookup._conn.close()  # the loop's own connection, broken under it
        after = asyncio.run(_answers(lookup, [secrets["admin"], secrets["revoked"]]))
    finally:
        lookup.close()
    assert before + after == [_expected(sqlite, s, clock.now())
                              for s in (secrets["admin"], secrets["admin"], secrets["revoked"])]
    assert lookup._off_until > 0  # the loop's lookups are off for a while: the pool answered
