"""Download counting without a database write per download.

    counter.hit(version_id)        # in memory, O(1), thread-safe
    counter.flush()                # one UPDATE per version touched (+ an outbox row)

A background thread flushes every few seconds and on shutdown. A crash loses at most one
interval of counts, which is acceptable for a popularity signal (never for security state).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine

from app.clock import Clock
from app.db import session_scope
from app.models import PackageVersion
from app.services.records import enqueue

log = logging.getLogger("vouch.downloads")


class DownloadCounter:
    def __init__(self, engine: Engine, clock: Clock, interval: timedelta) -> None:
        self.engine = engine
        self.clock = clock
        self.interval = interval.total_seconds()
        self._pending: Counter[tuple[int, str]] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def hit(self, version_id: int, package: str) -> None:
        with self._lock:
            self._pending[(version_id, package)] += 1

    def flush(self) -> int:
        """Write pending counts; returns how many downloads were written."""
        with self._lock:
            pending, self._pending = self._pending, Counter()
        if not pending:
            return 0
        try:
            with session_scope(self.engine, write=True) as session:
                for (version_id, _), count in sorted(pending.items()):
                    session.execute(update(PackageVersion)
                                    .where(PackageVersion.id == version_id)  # type: ignore[arg-type]
                                    .values(downloads=PackageVersion.downloads + count))
                packages = sorted({name for _, name in pending})
                enqueue(session, at=self.clock.now(), kind="search.downloads", packages=packages)
        except Exception:
            log.exception("could not flush download counts; keeping them for the next try")
            with self._lock:
                self._pending.update(pending)
            return 0
        return sum(pending.values())

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="vouch-downloads", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()
