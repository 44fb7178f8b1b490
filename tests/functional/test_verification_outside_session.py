"""Signature verification holds no database connection (issue 11): gpg may take 30 s and an
online Rekor lookup 5 s, and a pooled connection held for that long starves other requests.
(A bundle checked offline, CPU only, may be checked in the recording transaction on
PostgreSQL: tests/functional/test_sigstore_one_transaction.py. This probe stands for a
verifier that calls out.)

The verifier here is a probe: it records how many pooled connections are checked out while
the verification step runs, and whether what it re-checks at write time runs inside the
write transaction. (On the old code the verifier was called with the read session open.)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.pool import QueuePool
from sqlmodel import Session

from app.core.clock import ManualClock
from app.core.config import Settings
from app.registry import Registry
from app.trust.evidence import PublishContext, Verification, VerifiedEvidence
from tests.conftest import Actors
from tests.functional.helpers import publish
from tests.support.server import RunningServer, running_registry


class ProbeVerifier:
    def __init__(self) -> None:
        self.registry: Registry | None = None
        self.checked_out_while_verifying: list[int] = []
        self.confirmed_in_transaction: list[bool] = []

    def _verification(self, method: str) -> Verification:
        def verify() -> VerifiedEvidence:
            assert self.registry is not None
            pool = self.registry.engine.pool
            assert isinstance(pool, QueuePool)  # SQLite files and PostgreSQL both pool
            self.checked_out_while_verifying.append(pool.checkedout())
            return VerifiedEvidence(method=method, raw="sig", identity={"fingerprint": "F"})
        return verify

    def prepare_sigstore(self, session: Session, ctx: PublishContext) -> Verification:
        return self._verification("sigstore")

    def prepare_gpg(self, session: Session, ctx: PublishContext) -> Verification:
        return self._verification("gpg")

    def confirm(self, session: Session, ctx: PublishContext,
                verified: VerifiedEvidence) -> VerifiedEvidence:
        self.confirmed_in_transaction.append(session.in_transaction())
        return verified

    def sigstore_in_process(self) -> bool:
        return False  # stands for an online Rekor lookup (rekor_mode), seconds a bundle


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    # No background thread (outbox worker, download-count flush) takes a connection meanwhile.
    return {"run_worker": False, "download_flush_interval": timedelta(hours=1)}


@pytest.fixture
def probe() -> ProbeVerifier:
    return ProbeVerifier()


@pytest.fixture
def server(settings: Settings, clock: ManualClock,
           probe: ProbeVerifier) -> Iterator[RunningServer]:
    registry = Registry.build(settings, clock=clock, verifier=probe)
    probe.registry = registry
    with running_registry(settings, clock, registry) as running:
        yield running


def test_verification_runs_with_no_connection_checked_out(actors: Actors,
                                                          probe: ProbeVerifier) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "widgets", "1.0.0", b"one", gpg_signature="sig").status_code == 201
    assert publish(alice, "widgets", "2.0.0", b"two", sigstore_bundle="{}").status_code == 201
    assert probe.checked_out_while_verifying == [0, 0]
    assert probe.confirmed_in_transaction == [True, True]
    body = alice.get("/api/v1/packages/widgets/versions/2.0.0").json()
    assert body["signer"]["method"] == "sigstore"
