"""The outbox worker coalesces bursts (issue 13).

Under a stream of publishes the worker used to claim again the moment a run had done anything,
so it took about one item per batch: per publish a claim transaction, an index commit and a
settle transaction. Now a run that claimed less than a full batch is followed by the
``interval`` wait, so what arrives meanwhile is claimed as one batch; a full batch (a backlog)
is followed by the next claim at once. A poll that finds nothing due opens no write
transaction (on SQLite that would take the one writer's lock from publishes).

The waits are observed by replacing the worker's stop event, so nothing here sleeps.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from app.core.clock import ManualClock
from app.core.db import make_engine, session_scope
from app.core.records import enqueue
from app.core.worker import OutboxWorker


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _enqueue(engine: Engine, clock: ManualClock, *packages: str) -> None:
    with session_scope(engine, write=True) as session:
        for package in packages:
            enqueue(session, at=clock.now(), kind="search.reindex", package=package)


class _Recorder:
    """Stands in for the worker's stop event: records each wait, and stops the loop once
    ``handled`` items have gone through the handler."""

    def __init__(self, handled: int) -> None:
        self.events: list[tuple[str, Any]] = []
        self.until = handled
        self.stopped = False

    def handled(self) -> int:
        return sum(n for kind, n in self.events if kind == "handle")

    def wait(self, timeout: float | None = None) -> bool:
        self.events.append(("wait", timeout))
        self.stopped = self.handled() >= self.until
        return self.stopped

    def is_set(self) -> bool:
        return self.stopped

    def set(self) -> None:
        self.stopped = True


def test_an_item_arriving_during_a_run_waits_for_the_interval(engine: Engine) -> None:
    clock = ManualClock()
    _enqueue(engine, clock, "first")
    recorder = _Recorder(handled=2)

    def handle(payloads: list[dict[str, Any]]) -> None:
        recorder.events.append(("handle", len(payloads)))
        if len(recorder.events) == 1:  # a publish lands while the first batch is handled
            _enqueue(engine, clock, "second")

    worker = OutboxWorker(engine, clock, {"search.reindex": handle}, interval=0.25)
    worker._stop = recorder  # type: ignore[assignment]
    worker.run_forever()
    assert recorder.events == [("handle", 1), ("wait", 0.25), ("handle", 1), ("wait", 0.25)]


def test_a_full_batch_is_followed_by_the_next_claim_at_once(engine: Engine) -> None:
    clock = ManualClock()
    _enqueue(engine, clock, "a", "b", "c", "d", "e")
    recorder = _Recorder(handled=5)
    worker = OutboxWorker(
        engine, clock,
        {"search.reindex": lambda payloads: recorder.events.append(("handle", len(payloads)))},
        batch=2, interval=0.25)
    worker._stop = recorder  # type: ignore[assignment]
    worker.run_forever()
    assert recorder.events == [("handle", 2), ("handle", 2), ("handle", 1), ("wait", 0.25)]
    assert worker.pending() == 0


def test_a_poll_with_nothing_due_opens_no_write_transaction(engine: Engine) -> None:
    clock = ManualClock()
    writes: list[bool] = []

    def on_begin(connection: Any) -> None:
        writes.append(bool(connection.get_execution_options().get("vouch_write", False)))

    event.listen(engine, "begin", on_begin)
    worker = OutboxWorker(engine, clock, {"search.reindex": lambda _: None})
    assert worker.run_once() == 0
    assert writes and not any(writes)  # it looked, read-only
    _enqueue(engine, clock, "widget")
    writes.clear()
    assert worker.run_once() == 1
    assert writes.count(True) == 2  # the claim and the settle
