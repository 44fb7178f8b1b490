"""Time as a dependency, so the unpublish window is tested without sleeping.

    clock = SystemClock()
    clock.now()  # aware UTC datetime

Tests use ``ManualClock`` and move it with ``advance``.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Source of the current time (always timezone-aware UTC)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to (tests)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now += delta


def as_utc(moment: datetime) -> datetime:
    """Databases may hand back naive datetimes (SQLite); they are UTC by construction."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
