"""The audit log newest first, paged with ``before``, over the registry's oldest-first API.

    events, more = newest_events(api, limit=50, before=1234)

``GET /api/v1/audit-events`` returns events oldest first after an id (``after``, ``limit`` at
most 1000) and has no newest-first order or ``before``: this walks the matching events in pages
of 1000 and keeps the newest ``limit`` below ``before``. That costs one request per 1000
matching events; a registry-side ``order=desc``/``before`` would make it one request.
Raises ``ClientError`` (403 for non-administrators) and ``RegistryUnavailable``.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from client.api import RegistryClient

PAGE = 1000


def newest_events(api: RegistryClient, *, limit: int, before: int | None = None,
                  **filters: str | None) -> tuple[list[dict[str, Any]], bool]:
    """The newest ``limit`` events with id < ``before`` (newest first) and whether older
    matching events exist."""
    params: dict[str, Any] = {k: v for k, v in filters.items() if v is not None}
    kept: deque[dict[str, Any]] = deque(maxlen=limit + 1)
    after = 0
    while True:
        page: list[dict[str, Any]] = api.json("GET", "/api/v1/audit-events",
                                              params={**params, "after": after, "limit": PAGE})
        for event in page:
            if before is None or event["id"] < before:
                kept.append(event)
        if len(page) < PAGE or (before is not None and page[-1]["id"] >= before):
            break
        after = page[-1]["id"]
    events = list(kept)
    more = len(events) > limit
    return list(reversed(events[-limit:])), more
