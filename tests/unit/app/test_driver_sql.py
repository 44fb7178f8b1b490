"""``app.core.driver_sql``: prebuilt statements on the driver's cursor behave as
``session.execute`` does (issue 13), on the real PostgreSQL (127.0.0.1:5432, whatever
``VOUCH_TEST_DB`` says) and on a SQLite file: same rows, same transaction, same JSON, the
same SQLAlchemy errors, and a broken connection reported as an outage."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import bindparam, insert, select, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.core import driver_sql
from app.core.db import make_engine, upgrade
from app.core.db_errors import database_outage
from app.core.models import Org, OutboxItem, User
from tests.support.databases import empty_postgres_database

_ORGS = Org.__table__  # type: ignore[attr-defined]
_OUTBOX = OutboxItem.__table__  # type: ignore[attr-defined]
_FIRST_ORG = select(_ORGS.c.id, _ORGS.c.name).where(
    _ORGS.c.name >= bindparam("from_name")).order_by(_ORGS.c.name).limit(1)
_NEW_ORG = insert(_ORGS).returning(_ORGS.c.id)
_QUEUE = insert(_OUTBOX).returning(_OUTBOX.c.id)
_PAYLOAD = select(_OUTBOX.c.payload).where(_OUTBOX.c.id == bindparam("id"))
_NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
_USERS = User.__table__  # type: ignore[attr-defined]
_USER = select(_USERS.c.id, _USERS.c.is_admin, _USERS.c.created_at, _USERS.c.name).where(
    _USERS.c.name == bindparam("name"))


@pytest.fixture(params=["postgresql", "sqlite"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "postgresql":
        with empty_postgres_database("vouch_driver") as url:
            made = make_engine(url)
            upgrade(made)
            yield made
            made.dispose()
    else:
        made = make_engine(f"sqlite:///{tmp_path / 'v.db'}")
        upgrade(made)
        yield made
        made.dispose()


def _org(session: Session, name: str) -> int:
    new_id = driver_sql.scalar(session, _NEW_ORG, {"name": name, "created_at": _NOW})
    assert isinstance(new_id, int)
    return new_id


def test_rows_match_session_execute_in_the_same_transaction(engine: Engine) -> None:
    with Session(engine) as session:
        acme = _org(session, "acme")
        _org(session, "zeta")
        # Seen by the ORM session's own statements before any commit: one transaction.
        assert session.execute(text("SELECT count(*) FROM orgs")).scalar() == 2
        assert driver_sql.fetch(session, _FIRST_ORG, {"from_name": "a"}) == [(acme, "acme")]
        assert driver_sql.fetch(session, _FIRST_ORG, {"from_name": "a"}) == [
            tuple(row) for row in session.execute(_FIRST_ORG, {"from_name": "a"})]
        assert driver_sql.scalar(session, _FIRST_ORG, {"from_name": "zz"}) is None
        row = driver_sql.first(session.connection(), _FIRST_ORG, {"from_name": "b"})
        assert row is not None and (row.id, row.name) == (row[0], row[1]) == (
            session.execute(_FIRST_ORG, {"from_name": "b"}).one().id, "zeta")
        session.rollback()
    with Session(engine) as session:  # rolled back with the session
        assert session.execute(text("SELECT count(*) FROM orgs")).scalar() == 0


def test_json_goes_in_and_comes_out_as_sqlalchemy_would(engine: Engine) -> None:
    payload = {"package": "left-pad", "versions": ["1.0.0"], "n": 3}
    with Session(engine) as session:
        queued = driver_sql.scalar(session, _QUEUE, {
            "kind": "search.reindex", "payload": payload, "created_at": _NOW,
            "available_at": _NOW, "processed_at": None, "attempts": 0, "last_error": None})
        session.commit()
    with Session(engine) as session:
        assert session.execute(_PAYLOAD, {"id": queued}).scalar() == payload
        assert driver_sql.scalar(session, _PAYLOAD, {"id": queued}) == payload


def test_typed_columns_come_back_as_sqlalchemy_gives_them(engine: Engine) -> None:
    # SQLite stores timestamps as text and booleans as integers: converted as SQLAlchemy's
    # result converts them (PostgreSQL's driver gives the same types itself).
    with Session(engine) as session:
        session.add(User(name="ann", is_admin=True, created_at=_NOW))
        session.add(User(name="bob", is_admin=False, created_at=_NOW))
        session.flush()
        for name in ("ann", "bob"):
            ours = driver_sql.first(session, _USER, {"name": name})
            theirs = session.execute(_USER, {"name": name}).one()
            assert tuple(ours) == tuple(theirs)
            assert [type(value) for value in ours] == [type(value) for value in theirs]
        assert driver_sql.first(session, _USER, {"name": "ann"}).is_admin is True
        session.rollback()


def test_a_constraint_violation_is_sqlalchemys_integrity_error(engine: Engine) -> None:
    with Session(engine) as session:
        _org(session, "acme")
        with pytest.raises(sa_exc.IntegrityError):
            _org(session, "acme")  # unique name
        session.rollback()
        assert database_outage(sa_exc.IntegrityError("x", {}, Exception())) is None
        _org(session, "acme")  # the session is usable again
        session.commit()


def test_expanding_parameters_are_refused(engine: Engine) -> None:
    statement = select(_ORGS.c.id).where(_ORGS.c.name.in_(bindparam("names", expanding=True)))
    with Session(engine) as session, pytest.raises(ValueError, match="expanding"):
        driver_sql.fetch(session, statement, {"names": ["a"]})


def test_a_killed_connection_is_an_outage_and_is_replaced(tmp_path: Path) -> None:
    with empty_postgres_database("vouch_driver_kill") as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
            with Session(engine) as session:
                pid = session.execute(text("SELECT pg_backend_pid()")).scalar()
                with Session(engine) as killer:
                    killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                with pytest.raises(sa_exc.DBAPIError) as caught:
                    driver_sql.fetch(session, _FIRST_ORG, {"from_name": "a"})
                assert caught.value.connection_invalidated
                outage = database_outage(caught.value)
                assert outage is not None and outage.reason == "connection lost"
            with Session(engine) as session:  # the pool handed out a working connection
                assert driver_sql.fetch(session, _FIRST_ORG, {"from_name": "a"}) == []
        finally:
            engine.dispose()
