"""Rendered Simple API project pages, reused while their package has not changed.

    pages = PageCache()
    body = pages.get(session, "foo-bar", media, render)    # render(session) -> bytes

A page is reused only while the package's read generation (``read_generations``, bumped by
database triggers in the same transaction as any change to its package, versions, files or
provenance: migration 0011) is the one it was rendered under; the generation is read in the
same read transaction as a render would use, so a write committed before the request is
always seen (issue 13's rule for cached documents). A hit costs one indexed query instead of
the page's joins and rendering. Bounded: at most ``max_entries`` pages (oldest dropped).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from sqlalchemy import text
from sqlmodel import Session

_TAG = text("SELECT name, generation FROM read_generations WHERE name IN (:name, '*')")


class PageCache:
    def __init__(self, max_entries: int = 20_000) -> None:
        self.max_entries = max_entries
        self._pages: OrderedDict[tuple[str, str], tuple[tuple[int, int], bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, session: Session, name: str, media: str,
            render: Callable[[Session], bytes]) -> bytes:
        rows = {row[0]: row[1] for row in session.execute(_TAG, {"name": name})}
        tag = (int(rows.get(name, 0)), int(rows.get("*", 0)))
        key = (name, media)
        with self._lock:
            found = self._pages.get(key)
        if found is not None and found[0] == tag:
            return found[1]
        body = render(session)  # same transaction: the page is at least as new as ``tag``
        with self._lock:
            self._pages[key] = (tag, body)
            self._pages.move_to_end(key)
            while len(self._pages) > self.max_entries:
                self._pages.popitem(last=False)
        return body
