"""The audit log newest first, paged with ``before``: one request.

    events, more = newest_events(api, limit=50, before=1234)

``GET /api/v1/audit-events?order=desc&before=ID&limit=N`` returns the newest ``N`` events
below ``ID``. One more than asked tells whether older ones exist; at the registry's largest
page (1,000) a second request for one event below the last tells it instead. Raises
``ClientError`` (403 for non-administrators) and ``RegistryUnavailable``.
"""

from __future__ import annotations

from typing import Any

from client.api import RegistryClient

PAGE = 1000  # the registry's largest page


def newest_events(api: RegistryClient, *, limit: int, before: int | None = None,
                  **filters: str | None) -> tuple[list[dict[str, Any]], bool]:
    """The newest ``limit`` events with id < ``before`` (newest first) and whether older
    matching events exist."""
    filters = {k: v for k, v in filters.items() if v is not None}
    events = _page(api, filters, limit=min(limit + 1, PAGE), before=before)
    if len(events) > limit:
        return events[:limit], True
    if len(events) < limit or not events:
        return events, False
    # a full page of the largest size: ask whether anything lies below its last event
    return events, bool(_page(api, filters, limit=1, before=int(events[-1]["id"])))


def _page(api: RegistryClient, filters: dict[str, str | None], *, limit: int,
          before: int | None) -> list[dict[str, Any]]:
    params: dict[str, Any] = dict(filters, order="desc", limit=limit)
    if before is not None:
        params["before"] = before
    events: list[dict[str, Any]] = api.json("GET", "/api/v1/audit-events", params=params)
    return events
