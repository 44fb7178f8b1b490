"""Download counts are written every flush; the search refresh they cause is throttled.

Every flush writes the counts and raises the packages' read generations (documents show counts,
exact on every replica); one ``search.downloads`` outbox item for all names downloaded since the
last one goes at most every ``search_interval`` seconds (issue 13: re-indexing every downloaded
package on every 2 s flush was a fifth of a worker's time under download load).
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.core.clock import ManualClock
from app.core.db import make_engine
from app.core.models import Package, PackageVersion
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


def _versions(engine: Engine, count: int) -> list[tuple[int, str]]:
    """``count`` versions of ``count // 3`` packages: (version id, package name)."""
    now = datetime(2026, 12, 5, tzinfo=UTC)
    made: list[tuple[int, str]] = []
    with Session(engine) as session:
        for i in range(count // 3):
            package = Package(name=f"pkg-{i:04d}", created_at=now)
            session.add(package)
            session.flush()
            assert package.id is not None
            for v in range(3):
                row = PackageVersion(package_id=package.id, version=f"1.0.{v}",
                                     sort_key=f"{v:04d}", published_at=now, published_by="t")
                session.add(row)
                session.flush()
                assert row.id is not None
                made.append((row.id, package.name))
        session.commit()
    return made


def test_two_workers_flushing_the_same_versions_count_every_download(
        database_url: str) -> None:
    """Each worker of `vouch serve` has its own counter; both flush the same hot versions at
    the same moments. Every download is written once, and neither flush fails (PostgreSQL:
    both lock the versions, and then the generations, in the same order)."""
    engine = make_engine(database_url)
    try:
        versions = _versions(engine, 600)
        before = _generations(engine)
        counters = [DownloadCounter(engine, ManualClock(), timedelta(seconds=2),
                                    search_interval=3600) for _ in range(2)]
        rounds = 8
        written: list[int] = []
        failures: list[BaseException] = []

        def worker(counter: DownloadCounter, seed: int) -> None:
            try:
                for r in range(rounds):
                    # Each round every version twice, in an order of this worker's own.
                    order = versions[seed + r:] + versions[:seed + r]
                    for version_id, name in order[::-1] if seed else order:
                        counter.hit(version_id, name)
                        counter.hit(version_id, name)
                    written.append(counter.flush())
            except BaseException as err:  # surfaced below
                failures.append(err)

        threads = [threading.Thread(target=worker, args=(c, i)) for i, c in enumerate(counters)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failures
        assert written == [1200] * (2 * rounds)  # no flush kept its counts for a retry
        with engine.connect() as conn:
            counts = dict(conn.execute(text("SELECT id, downloads FROM package_versions")).all())
        assert counts == {version_id: 2 * 2 * rounds for version_id, _ in versions}
        assert _generations(engine) == {name: before[name] + 2 * rounds
                                        for _, name in versions}
    finally:
        engine.dispose()
