"""Outbox handlers that keep the search index in step with the database.

A search outage raises from here; the worker keeps the items and retries, so publishes are
never failed or slowed by search. One call handles a whole claimed batch: the documents of
all its packages are built with a few queries (``search_documents``) and written to the index
in one update, so a burst of publishes costs one index commit, not one per publish.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from app.core.db import session_scope
from app.core.worker import Handler
from app.search.documents import Ref, download_totals, refs_named, search_documents
from search import SearchIndex, document_id


def search_handlers(engine: Engine, index: SearchIndex) -> dict[str, Handler]:
    def reindex(payloads: list[dict[str, Any]]) -> None:
        # A payload names its package's format; one without (advisories, quarantine) means
        # every package of that name, whatever its format.
        refs: set[Ref] = {(p["ecosystem"], p["package"]) for p in payloads
                          if "package" in p and "ecosystem" in p}
        refs |= {("generic", p["package"]) for p in payloads
                 if "package" in p and "ecosystem" not in p}
        with session_scope(engine) as session:
            refs |= set(refs_named(session, {p["package"] for p in payloads
                                             if "package" in p and "ecosystem" not in p}))
            found = search_documents(session, refs)
        for (ecosystem, name), doc in sorted(found.items()):
            if doc is None:
                index.delete(document_id(name, ecosystem))
        docs = [doc for _, doc in sorted(found.items()) if doc is not None]
        if docs:
            index.upsert(docs)

    def downloads(payloads: list[dict[str, Any]]) -> None:
        names = sorted({n for p in payloads for n in p.get("packages", [])})
        with session_scope(engine) as session:
            counts = download_totals(session, names)
        if counts:
            index.update_downloads(counts)

    return {"search.reindex": reindex, "search.downloads": downloads}
