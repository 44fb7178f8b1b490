"""A package quarantined while a publish's signature is being verified takes no new version.

The read transaction refuses a quarantined package; the signature is then checked with no
session (issue 11), and the write transaction reads the package's status again (issue 13
made that re-read part of its one package lookup). The verifier's online-log hook, which
runs inside the verification after the read session closed, quarantines the package the
way a concurrent request would: the upload must be refused and leave nothing behind.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import update
from sqlmodel import col

from app.core.clock import ManualClock
from app.core.config import Settings
from app.core.db import session_scope
from app.core.models import Package
from app.registry import Registry
from app.trust.verifier import RegistryEvidenceVerifier
from signing.trust import TrustRoot
from tests.conftest import Actors, state_counts
from tests.functional.helpers import assert_problem
from tests.functional.test_publisher_lost_mid_verification import (
    ALICE_CI,
    MidVerification,
    _register,
    _signed,
)
from tests.support.server import RunningServer, running_registry
from tests.support.sigstore_local import SigstoreInstance


@pytest.fixture
def hook() -> MidVerification:
    return MidVerification()


@pytest.fixture
def server(settings: Settings, clock: ManualClock,
           hook: MidVerification) -> Iterator[RunningServer]:
    verifier = RegistryEvidenceVerifier(TrustRoot.named(settings.sigstore_trust), log_check=hook)
    registry = Registry.build(settings, clock=clock, verifier=verifier)
    with running_registry(settings, clock, registry) as running:
        yield running


def test_a_package_quarantined_during_verification_takes_no_version(
        actors: Actors, sigstore_instance: SigstoreInstance, hook: MidVerification) -> None:
    alice = actors.client(actors.user("alice"))
    _register(alice, "widget", ALICE_CI)
    assert _signed(alice, sigstore_instance, "widget", "1.0.0", ALICE_CI).status_code == 201
    engine = actors.server.registry.engine

    def quarantine() -> None:
        with session_scope(engine, write=True) as session:
            session.execute(update(Package).where(col(Package.name) == "widget")
                            .values(status="quarantined"))

    before = state_counts(actors.server)
    hook.action = quarantine
    body = assert_problem(_signed(alice, sigstore_instance, "widget", "1.1.0", ALICE_CI),
                          403, "forbidden")
    assert hook.ran == 1
    assert "quarantined" in body["detail"]
    assert state_counts(actors.server) == before
    versions = [v["version"] for v in alice.get("/api/v1/packages/widget").json()["versions"]]
    assert versions == ["1.0.0"]
