"""Outbox claims are short leases kept alive by a heartbeat (issue 10).

A worker that is alive keeps its claim however long its handler runs (another worker never
takes the item from it); a dead worker's claim lapses after one lease, which
``tests/functional/test_crash_recovery.py`` checks with a real ``vouch worker`` killed by -9.
The lease is measured on an injected clock, so "past the lease" needs no sleeping; only the
heartbeat's beat (a third of the lease, in real time) is awaited by polling.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from app.core.clock import ManualClock, as_utc
from app.core.db import make_engine, session_scope
from app.core.models import OutboxItem
from app.core.records import enqueue
from app.core.worker import OutboxWorker

LEASE = timedelta(seconds=3)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _item(engine: Engine) -> OutboxItem:
    with session_scope(engine) as session:
        return session.exec(select(OutboxItem)).one()


def _eventually(condition: Any, what: str, bound: float = 30.0) -> None:
    deadline = time.monotonic() + bound
    while not condition():
        assert time.monotonic() < deadline, f"not within {bound:.0f} s: {what}"
        time.sleep(0.02)


def test_a_live_worker_keeps_its_claim_past_the_lease(engine: Engine) -> None:
    clock = ManualClock()
    with session_scope(engine, write=True) as session:
        enqueue(session, at=clock.now(), kind="search.reindex", package="widget")
    entered, release = threading.Event(), threading.Event()
    handled: list[str] = []

    def slow(payloads: list[dict[str, Any]]) -> None:
        entered.set()
        assert release.wait(60)
        handled.append("slow")

    busy = OutboxWorker(engine, clock, {"search.reindex": slow}, lease=LEASE)
    other = OutboxWorker(engine, clock,
                         {"search.reindex": lambda _: handled.append("other")}, lease=LEASE)
    runner = threading.Thread(target=busy.run_once)
    runner.start()
    try:
        assert entered.wait(30)
        claimed_at = clock.now()
        for _ in range(3):  # 6 s of lease time in all: twice the lease
            clock.advance(LEASE * 2 / 3)
            renewed = clock.now() + LEASE
            _eventually(lambda: as_utc(_item(engine).available_at) >= renewed,
                        "a heartbeat renewing the claim")
            assert other.run_once() == 0
        assert clock.now() > claimed_at + LEASE
    finally:
        release.set()
        runner.join(timeout=30)
    item = _item(engine)
    assert item.processed_at is not None and item.attempts == 0
    assert handled == ["slow"]
    assert other.run_once() == 0


def test_an_expired_claim_is_claimed_again(engine: Engine) -> None:
    """What happens to a dead worker's items: nobody renews, the lease lapses, and the next
    worker takes them (the in-process stand-in for a worker that died after claiming)."""
    clock = ManualClock()
    with session_scope(engine, write=True) as session:
        enqueue(session, at=clock.now(), kind="search.reindex", package="widget")
    dead = OutboxWorker(engine, clock, {"search.reindex": lambda _: None}, lease=LEASE)
    assert [item.kind for item in dead._claim()] == ["search.reindex"]
    done: list[str] = []
    other = OutboxWorker(engine, clock, {"search.reindex": lambda _: done.append("x")},
                         lease=LEASE)
    assert other.run_once() == 0  # still leased
    clock.advance(LEASE + timedelta(seconds=1))
    assert other.run_once() == 1
    assert done == ["x"] and _item(engine).processed_at is not None
