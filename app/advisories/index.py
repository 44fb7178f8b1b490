"""A per-process ``AdvisoryIndex`` kept current with the database, for OSV queries.

    cache = IndexCache(engine)
    cache.run(lambda index: index.query_batch(queries))   # refreshes first if needed

Before each use, one cheap read of the advisory generation counter tells whether any process
wrote advisories since the last refresh; if so, only the rows written since then are reloaded
(see :mod:`app.advisories.store`). Drafts are kept out of the index (they are not
public); withdrawn records are in it (retrievable by id) and the index never matches them.

``AdvisoryIndex`` is not safe for a writer running beside readers, so refreshes and queries
take one lock. Queries are in-memory and short (a 1,000-query batch takes milliseconds), and
under the GIL they would not run in parallel anyway. Records handed out are immutable.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.engine import Engine

from advisories.matching import AdvisoryIndex
from advisories.models import Advisory
from app.advisories import store
from app.core.db import session_scope

T = TypeVar("T")


class IndexCache:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._index = AdvisoryIndex()
        self._revision = -1  # nothing loaded yet: the first refresh reads every row
        self._lock = threading.Lock()

    def run(self, use: Callable[[AdvisoryIndex], T]) -> T:
        """Refresh if another write happened, then call ``use`` with the index under the lock.
        ``use`` must not keep the index after it returns."""
        with self._lock:
            self._refresh()
            return use(self._index)

    def _refresh(self) -> None:
        with session_scope(self.engine) as session:
            current = store.generation(session)
            if current == self._revision:
                return
            # Rows stamped after ``current`` may show up too; reloading them again on the
            # next refresh is harmless (add replaces by id).
            changed = store.changed_since(session, self._revision)
        for advisory_id, state, record in changed:
            if state in store.PUBLIC_STATES:
                self._index.add(Advisory.model_validate(record))
            else:
                self._index.remove(advisory_id)
        self._revision = current
