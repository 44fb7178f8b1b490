"""Readiness: does the database answer, quickly? (``GET /readyz``; ``/healthz`` is liveness.)

    probe = DatabaseProbe(engine, timeout=2.0)
    if not await probe.ready(): ...      # answer 503 database_unavailable

A load balancer or orchestrator should send traffic only to instances whose database answers;
restarting an instance because its database is down would not help, so liveness stays a
separate, database-free ``/healthz``. The probe reads ``alembic_version`` (it proves that the
schema exists, and on SQLite that the file can still be read) on a dedicated thread, at most
one query in flight: a database that hangs instead of refusing (a network partition) makes the
probe answer "not ready" after ``timeout`` seconds, and never piles up blocked threads.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from sqlalchemy import text
from sqlalchemy.engine import Engine

log = logging.getLogger("vouch.readiness")

_QUERY = text("SELECT version_num FROM alembic_version")


class DatabaseProbe:
    """Answers whether the database responds within ``timeout`` seconds."""

    def __init__(self, engine: Engine, *, timeout: float = 2.0) -> None:
        self.engine = engine
        self.timeout = timeout
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vouch-readyz")
        self._lock = threading.Lock()
        self._inflight: Future[None] | None = None

    def _query(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(_QUERY).first()

    def _start(self) -> Future[None]:
        """The query in flight, or a new one (a hung query is shared, never stacked)."""
        with self._lock:
            if self._inflight is None or self._inflight.done():
                self._inflight = self._executor.submit(self._query)
            return self._inflight

    async def ready(self) -> bool:
        """True when the database answered in time; never raises."""
        future = self._start()
        try:
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), self.timeout)
        except TimeoutError:
            log.warning("readiness: the database did not answer within %.1f s", self.timeout)
            return False
        except Exception as err:  # any failure means "not ready"; the type says enough
            log.warning("readiness: the database query failed (%s)", type(err).__name__)
            return False
        return True

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
