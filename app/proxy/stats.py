"""Per-upstream counters of this process (``vouch proxy status``): cache hits, misses (fetched
upstream), errors, and stale answers served while the upstream was down."""

from __future__ import annotations

import threading
from collections import defaultdict


class ProxyStats:
    KINDS = ("hits", "misses", "errors", "stale")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(self.KINDS, 0))

    def add(self, upstream: str, kind: str) -> None:
        with self._lock:
            self._counts[upstream][kind] += 1

    def of(self, upstream: str) -> dict[str, int]:
        with self._lock:
            return dict(self._counts[upstream])
