"""The outbox worker: derived work (search index updates) done after the fact, with retries.

    worker = OutboxWorker(engine, clock, handlers={"search.reindex": fn, ...})
    worker.run_once()      # process what is due; returns how many items were done
    worker.run_forever()   # `vouch worker`, or a thread inside a single-process server

Items are written in the same transaction as the change that causes them, so nothing is lost
when the search cluster is down: a failing handler leaves its items in the outbox with an
exponential backoff (capped at one minute), and they are done when the backend returns.
On PostgreSQL, several workers share the queue with ``FOR UPDATE SKIP LOCKED``.

Bursts are coalesced (issue 13): after a run that claimed less than a full batch the worker
waits ``interval`` (0.5 s) before it claims again, so a stream of publishes becomes one batch
(one claim, one index commit, one settle) per interval instead of one per publish; a full
batch means a backlog, and the next claim follows at once. Search therefore lags a write by
at most about ``interval`` plus the time to handle the batch. A poll that finds nothing due
is a read: it takes no write lock (SQLite has one writer at a time).

Claims are short leases kept alive by a heartbeat (issue 10): a claim lasts ``lease`` (10 s)
and a thread renews it every third of that while the handler runs, however long the handler
takes. A worker killed with ``kill -9`` stops renewing, so its items become claimable again
about ``lease`` later instead of after minutes. A worker that merely stalls past its lease may
see its items handled twice; handlers are idempotent, so that costs work, never correctness.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from app.core.clock import Clock
from app.core.db import session_scope
from app.core.db_errors import database_outage
from app.core.models import OutboxItem

log = logging.getLogger("vouch.worker")

Handler = Callable[[list[dict[str, Any]]], None]
MAX_BACKOFF = timedelta(seconds=60)
LEASE = timedelta(seconds=10)  # a claim not renewed for this long is another worker's
OUTAGE_BACKOFF = 5.0  # seconds between attempts while the database is unavailable


class _Heartbeat:
    """Renews the lease of ``ids`` every third of the lease until the block ends. A renewal
    that fails (the database is down) is logged and tried again at the next beat."""

    def __init__(self, worker: OutboxWorker, ids: list[int]) -> None:
        self.worker = worker
        self.ids = ids
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="vouch-outbox-heartbeat",
                                        daemon=True)

    def __enter__(self) -> _Heartbeat:
        if self.ids:
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        period = self.worker.lease.total_seconds() / 3
        while not self._done.wait(period):
            try:
                self.worker.renew(self.ids)
            except Exception as err:
                log.warning("outbox: could not renew the lease of %d items: %s",
                            len(self.ids), type(err).__name__)


class OutboxWorker:
    def __init__(self, engine: Engine, clock: Clock, handlers: dict[str, Handler], *,
                 batch: int = 500, interval: float = 0.5, lease: timedelta = LEASE) -> None:
        self.engine = engine
        self.lease = lease
        self.clock = clock
        self.handlers = handlers
        self.batch = batch
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Process every due item of known kinds, one batch per kind; returns items done.

        Items are claimed with a lease in a short transaction, handled outside any database
        transaction (a search backend may be slow; SQLite must not hold its write lock for
        it), then marked done. While they are handled a heartbeat renews the lease; a worker
        that dies mid-batch stops renewing, and the items are handled again once the lease runs
        out (handlers are idempotent: they rebuild from the database).
        """
        return self._run_batch()[1]

    def _run_batch(self) -> tuple[int, int]:
        """``run_once``, returning (items claimed, items done)."""
        items = self._claim()
        if not items:
            return 0, 0
        by_kind: dict[str, list[OutboxItem]] = defaultdict(list)
        for item in items:
            by_kind[item.kind].append(item)
        done: list[int] = []
        failed: dict[int, str] = {}
        with _Heartbeat(self, [item.id for item in items if item.id is not None]):
            for kind, batch in by_kind.items():
                try:
                    self.handlers[kind]([item.payload for item in batch])
                except Exception as err:  # keep the items; try again later
                    log.warning("outbox %s: %d items failed, will retry: %s", kind, len(batch),
                                err)
                    failed.update({item.id: str(err)[:2000] for item in batch if item.id})
                    continue
                done.extend(item.id for item in batch if item.id is not None)
        self._settle(done, failed)
        return len(items), len(done)

    def _due(self, now: datetime) -> Any:
        return (col(OutboxItem.processed_at).is_(None), col(OutboxItem.available_at) <= now,
                col(OutboxItem.kind).in_(list(self.handlers)))

    def _claim(self) -> list[OutboxItem]:
        now = self.clock.now()
        with session_scope(self.engine) as session:  # nothing due: no write transaction
            if session.exec(select(OutboxItem.id).where(*self._due(now)).limit(1)).first() \
                    is None:
                return []
        with session_scope(self.engine, write=True) as session:
            query = (select(OutboxItem).where(*self._due(now))
                     .order_by(col(OutboxItem.id)).limit(self.batch))
            if self.engine.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            items = list(session.exec(query))
            if items:  # one statement for the batch (was one UPDATE per item)
                session.execute(update(OutboxItem)
                                .where(col(OutboxItem.id).in_([i.id for i in items]))
                                .values(available_at=now + self.lease))
        return items

    def renew(self, ids: list[int]) -> None:
        """Extend the lease of claimed items that are not settled yet."""
        with session_scope(self.engine, write=True) as session:
            session.execute(update(OutboxItem)
                            .where(col(OutboxItem.id).in_(ids),
                                   col(OutboxItem.processed_at).is_(None))
                            .values(available_at=self.clock.now() + self.lease))

    def _settle(self, done: list[int], failed: dict[int, str]) -> None:
        if not done and not failed:
            return
        now = self.clock.now()
        with session_scope(self.engine, write=True) as session:
            if done:  # one statement for the done ones, the common case
                session.execute(update(OutboxItem).where(col(OutboxItem.id).in_(done))
                                .values(processed_at=now))
            if not failed:
                return
            for item in session.exec(select(OutboxItem).where(
                    col(OutboxItem.id).in_(list(failed)))):
                assert item.id is not None
                item.attempts += 1
                item.last_error = failed[item.id]
                item.available_at = now + min(
                    timedelta(seconds=2 ** min(item.attempts, 6)), MAX_BACKOFF)
                session.add(item)

    def pending(self) -> int:
        with session_scope(self.engine) as session:
            return len(session.exec(select(OutboxItem.id).where(
                col(OutboxItem.processed_at).is_(None))).all())

    def run_forever(self) -> None:
        outage = False
        while not self._stop.is_set():
            wait = self.interval
            try:
                claimed, _ = self._run_batch()
            except Exception as err:
                claimed = 0
                reason = database_outage(err)
                if reason is None:
                    log.exception("outbox worker iteration failed")
                else:  # one line when it starts, not a traceback twice a second
                    if not outage:
                        log.warning("outbox worker: the database is unavailable (%s); "
                                    "retrying every %.0f s", reason.reason, OUTAGE_BACKOFF)
                    wait = OUTAGE_BACKOFF
                outage = reason is not None
            else:
                if outage:
                    log.warning("outbox worker: the database is back")
                outage = False
            if claimed < self.batch:  # drained: let the next burst gather (see the top)
                self._stop.wait(wait)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="vouch-outbox",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
