"""The outbox worker: derived work (search index updates) done after the fact, with retries.

    worker = OutboxWorker(engine, clock, handlers={"search.reindex": fn, ...})
    worker.run_once()      # process what is due; returns how many items were done
    worker.run_forever()   # `vouch worker`, or a thread inside a single-process server

Items are written in the same transaction as the change that causes them, so nothing is lost
when the search cluster is down: a failing handler leaves its items in the outbox with an
exponential backoff (capped at one minute), and they are done when the backend returns.
On PostgreSQL, several workers share the queue with ``FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from app.clock import Clock
from app.db import session_scope
from app.models import OutboxItem

log = logging.getLogger("vouch.worker")

Handler = Callable[[list[dict[str, Any]]], None]
MAX_BACKOFF = timedelta(seconds=60)
LEASE = timedelta(minutes=5)  # a claimed item is retried if its worker never settles it


class OutboxWorker:
    def __init__(self, engine: Engine, clock: Clock, handlers: dict[str, Handler], *,
                 batch: int = 500, interval: float = 0.5) -> None:
        self.engine = engine
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
        it), then marked done. A worker that dies mid-batch leaves its lease to expire, and
        the items are handled again (handlers are idempotent: they rebuild from the database).
        """
        items = self._claim()
        by_kind: dict[str, list[OutboxItem]] = defaultdict(list)
        for item in items:
            by_kind[item.kind].append(item)
        done: list[int] = []
        failed: dict[int, str] = {}
        for kind, batch in by_kind.items():
            try:
                self.handlers[kind]([item.payload for item in batch])
            except Exception as err:  # keep the items; try again later
                log.warning("outbox %s: %d items failed, will retry: %s", kind, len(batch), err)
                failed.update({item.id: str(err)[:2000] for item in batch if item.id})
                continue
            done.extend(item.id for item in batch if item.id is not None)
        self._settle(done, failed)
        return len(done)

    def _claim(self) -> list[OutboxItem]:
        now = self.clock.now()
        with session_scope(self.engine, write=True) as session:
            query = (select(OutboxItem)
                     .where(col(OutboxItem.processed_at).is_(None),
                            col(OutboxItem.available_at) <= now,
                            col(OutboxItem.kind).in_(list(self.handlers)))
                     .order_by(col(OutboxItem.id)).limit(self.batch))
            if self.engine.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            items = list(session.exec(query))
            for item in items:
                item.available_at = now + LEASE
                session.add(item)
        return items

    def _settle(self, done: list[int], failed: dict[int, str]) -> None:
        if not done and not failed:
            return
        now = self.clock.now()
        with session_scope(self.engine, write=True) as session:
            for item in session.exec(select(OutboxItem).where(
                    col(OutboxItem.id).in_([*done, *failed]))):
                if item.id in failed:
                    item.attempts += 1
                    item.last_error = failed[item.id]
                    item.available_at = now + min(
                        timedelta(seconds=2 ** min(item.attempts, 6)), MAX_BACKOFF)
                else:
                    item.processed_at = now
                session.add(item)

    def pending(self) -> int:
        with session_scope(self.engine) as session:
            return len(session.exec(select(OutboxItem.id).where(
                col(OutboxItem.processed_at).is_(None))).all())

    def run_forever(self) -> None:
        while not self._stop.is_set():
            try:
                worked = self.run_once()
            except Exception:
                log.exception("outbox worker iteration failed")
                worked = 0
            if not worked:
                self._stop.wait(self.interval)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="vouch-outbox",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
