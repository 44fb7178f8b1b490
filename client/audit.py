"""The audit log newest first, paged with ``before``: one request.

    events, more = newest_events(api, limit=50, before=1234)

``GET /api/v1/audit-events?order=desc&before=ID&limit=N`` returns the newest ``N`` events
below ``ID``; one more than asked tells whether older ones exist. Raises ``ClientError`` (403
for non-administrators) and ``RegistryUnavailable``.
"""

from __future__ import annotations

from typing import Any

from client.api import RegistryClient

PAGE = 1000  # the registry's largest page


def newest_events(api: RegistryClient, *, limit: int, before: int | None = None,
                  **filters: str | None) -> tuple[list[dict[str, Any]], bool]:
    """The newest ``limit`` events with id < ``before`` (newest first) and whether older
    matching events exist."""
    params: dict[str, Any] = {k: v for k, v in filters.items() if v is not None}
    params.update(order="desc", limit=min(limit + 1, PAGE))
    if before is not None:
        params["before"] = before
    events: list[dict[str, Any]] = api.json("GET", "/api/v1/audit-events", params=params)
    more = len(events) > limit
    return events[:limit], more
