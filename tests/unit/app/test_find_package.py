"""``find_package`` reads through the driver and makes the ORM object itself (``loaded``),
issue 13: what it returns must be what an ORM query gave. The same columns; the session's own
instance when it already holds the package, so two lookups in one transaction agree; and an
object the session tracks, so a change to it is written at the commit. Runs on the database
``VOUCH_TEST_DB`` names (``make test`` runs it on SQLite and on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.core.db import make_engine, session_scope
from app.core.models import Package
from app.publishing import packages as pkgs

_NOW = datetime(2026, 12, 6, 1, 30, 5, 250_000, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    with session_scope(engine, write=True) as session:
        session.add(Package(ecosystem="npm", name="@acme/left-pad", scope="acme",
                            signature_policy="sigstore", created_at=_NOW))
        session.add(Package(ecosystem="generic", name="@acme/left-pad", scope="acme",
                            created_at=_NOW))
    yield engine
    engine.dispose()


def _orm(session: Session, ecosystem: str, name: str) -> Package:
    return session.exec(select(Package).where(Package.ecosystem == ecosystem,
                                              Package.name == name)).one()


def test_the_package_found_is_the_one_an_orm_query_loads(engine: Engine) -> None:
    with session_scope(engine) as session:
        found = pkgs.find_package(session, "@acme/left-pad", "npm")
        assert found is not None
        found_values = found.model_dump()
    with session_scope(engine) as session:
        expected = _orm(session, "npm", "@acme/left-pad").model_dump()
    assert found_values == expected
    assert found_values["signature_policy"] == "sigstore"
    assert found_values["ecosystem"] == "npm"  # not the generic package of the same name
    assert found_values["created_at"].replace(tzinfo=UTC) == _NOW
    with session_scope(engine) as session:
        assert pkgs.find_package(session, "@acme/left-pad", "pypi") is None
        assert pkgs.find_package(session, "@acme/right-pad") is None


def test_lookups_in_one_session_return_the_session_s_own_instance(engine: Engine) -> None:
    with session_scope(engine) as session:
        held = _orm(session, "generic", "@acme/left-pad")
        assert pkgs.find_package(session, "@acme/left-pad") is held
    with session_scope(engine) as session:
        first = pkgs.find_package(session, "@acme/left-pad")
        assert first is not None
        assert pkgs.find_package(session, "@acme/left-pad") is first
        assert session.get(Package, first.id) is first


def test_a_change_to_the_package_found_is_written_at_the_commit(engine: Engine) -> None:
    with session_scope(engine, write=True) as session:
        package = pkgs.find_package(session, "@acme/left-pad")
        assert package is not None
        package.status = "quarantined"
    with session_scope(engine) as session:
        assert _orm(session, "generic", "@acme/left-pad").status == "quarantined"
        assert _orm(session, "npm", "@acme/left-pad").status == "active"
