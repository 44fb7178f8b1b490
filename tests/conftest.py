"""Shared fixtures: a fresh database per test, the real server on loopback, users and tokens."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlmodel import func, select

from app.clock import ManualClock
from app.config import Settings
from app.db import session_scope
from app.models import AuditEvent, PackageBlob, PackageVersion
from app.services import accounts
from tests.support.databases import DatabaseFactory
from tests.support.server import RunningServer, running_registry
from tests.support.sigstore_local.fixtures import (  # noqa: F401  (fixtures for every test)
    github_jwks_path,
    github_oidc_key,
    sigstore_instance,
    sigstore_trusted_root_path,
)


@pytest.fixture(scope="session")
def db_factory(tmp_path_factory: pytest.TempPathFactory,
               worker_id: str) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("dbtemplate"), worker_id)
    yield factory
    factory.close()


@pytest.fixture
def database_url(db_factory: DatabaseFactory, tmp_path: Path) -> Iterator[str]:
    with db_factory.fresh(tmp_path / "db") as url:
        yield url


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """Override in a test module to change settings for its server."""
    return {}


@pytest.fixture
def settings(database_url: str, tmp_path: Path,
             settings_overrides: dict[str, object]) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        "environment": "development",
        "default_signature_policy": "none",
        "max_upload_bytes": 1024 * 1024,
    }
    values.update(settings_overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def server(settings: Settings, clock: ManualClock) -> Iterator[RunningServer]:
    with running_registry(settings, clock) as running:
        yield running


@dataclass
class Actors:
    """Creates users and tokens straight through the services (as `vouch admin` does)."""

    server: RunningServer

    def user(self, name: str, *, admin: bool = False, security: bool = False,
             **token_options: object) -> str:
        """Create a user and return a fresh token for them."""
        registry = self.server.registry
        with session_scope(registry.engine, write=True) as session:
            user = accounts.create_user(session, name, now=registry.clock.now(), actor="test",
                                        admin=admin, security=security)
            _, secret = accounts.create_token(session, user, now=registry.clock.now(),
                                              **token_options)  # type: ignore[arg-type]
        return secret

    def token(self, name: str, **token_options: object) -> str:
        registry = self.server.registry
        with session_scope(registry.engine, write=True) as session:
            user = accounts.get_user(session, name)
            _, secret = accounts.create_token(session, user, now=registry.clock.now(),
                                              **token_options)  # type: ignore[arg-type]
        return secret

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.server.url, headers=headers, timeout=30)


@pytest.fixture
def actors(server: RunningServer) -> Actors:
    return Actors(server)


@dataclass
class StateCounts:
    versions: int
    blobs_rows: int
    blob_files: int
    audit_events: int


def state_counts(server: RunningServer) -> StateCounts:
    """What a rejected request must not change: rows, stored blobs, audit events."""
    registry = server.registry
    with session_scope(registry.engine) as session:
        versions = session.exec(select(func.count()).select_from(PackageVersion)).one()
        blobs = session.exec(select(func.count()).select_from(PackageBlob)).one()
        events = session.exec(select(func.count()).select_from(AuditEvent)).one()
    return StateCounts(versions, blobs, len(registry.blobs.keys()), events)


def pytest_report_header(config: pytest.Config) -> str:
    return f"vouch test database: {os.environ.get('VOUCH_TEST_DB', 'sqlite')}"
