"""Outbox handlers that keep the search index in step with the database.

A search outage raises from here; the worker keeps the items and retries, so publishes are
never failed or slowed by search.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from app.core.db import session_scope
from app.core.worker import Handler
from app.search.documents import download_totals, package_search_document
from search import SearchIndex


def search_handlers(engine: Engine, index: SearchIndex) -> dict[str, Handler]:
    def reindex(payloads: list[dict[str, Any]]) -> None:
        names = sorted({p["package"] for p in payloads if "package" in p})
        docs = []
        with session_scope(engine) as session:
            for name in names:
                doc = package_search_document(session, name)
                if doc is None:
                    index.delete(name)
                else:
                    docs.append(doc)
        if docs:
            index.upsert(docs)

    def downloads(payloads: list[dict[str, Any]]) -> None:
        names = sorted({n for p in payloads for n in p.get("packages", [])})
        with session_scope(engine) as session:
            counts = download_totals(session, names)
        if counts:
            index.update_downloads(counts)

    return {"search.reindex": reindex, "search.downloads": downloads}
