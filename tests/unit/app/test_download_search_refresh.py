"""Download counts are written every flush; the search refresh they cause is throttled.

Every flush writes the counts and raises the packages' read generations (documents show counts,
exact on every replica); one ``search.downloads`` outbox item for all names downloaded since the
last one goes at most every ``search_interval`` seconds (issue 13: re-indexing every downloaded
package on every 2 s flush was a fifth of a worker's time under download load).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from app.core.clock import ManualClock
from app.core.db import make_engine
from app.publishing.downloads import DownloadCounter


def _search_items(engine: Engine) -> list[list[str]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT payload FROM outbox WHERE kind = 'search.downloads' "
                                 "ORDER BY id")).scalars().all()
    return [_payload(row)["packages"] for row in rows]


def _payload(raw: Any) -> dict[str, Any]:
    return raw if isinstance(raw, dict) else json.loads(raw)


def _generations(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT name, generation FROM read_generations "
                                 "WHERE name <> '*'")).all()
    return {str(name): int(generation) for name, generation in rows}


def test_counts_every_flush_search_refresh_at_most_once_per_interval(
        database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        counter = DownloadCounter(engine, ManualClock(), timedelta(seconds=2),
                                  search_interval=3600)
        counter.hit(1, "left-pad")
        assert counter.flush() == 1
        assert _search_items(engine) == [["left-pad"]]  # the first refresh goes at once
        generations = _generations(engine)

        counter.hit(2, "right-pad")
        counter.hit(1, "left-pad")
        assert counter.flush() == 2
        assert _search_items(engine) == [["left-pad"]]  # held: within the interval
        after = _generations(engine)
        assert after["left-pad"] == generations["left-pad"] + 1  # documents stay exact
        assert "right-pad" in after

        assert counter.flush() == 0  # nothing new: nothing written
        counter.stop()  # shutdown queues what is held
        assert _search_items(engine) == [["left-pad"], ["left-pad", "right-pad"]]
    finally:
        engine.dispose()


def test_the_held_names_go_once_the_interval_has_passed(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        counter = DownloadCounter(engine, ManualClock(), timedelta(seconds=2),
                                  search_interval=0.0)
        counter.hit(1, "a")
        counter.flush()
        counter.hit(2, "b")
        counter.flush()
        assert _search_items(engine) == [["a"], ["b"]]
    finally:
        engine.dispose()
