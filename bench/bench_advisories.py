"""Benchmark: 1,000 advisory queries in one batch against 10,000 synthetic OSV advisories.

Run::

    .venv/bin/python bench/bench_advisories.py            # defaults: 10,000 advisories
    .venv/bin/python bench/bench_advisories.py --advisories 50000 --queries 5000

Target (issue 5): a 1,000-query batch against 10,000 advisories in well under 1 s. This times
the library path that ``POST /v1/querybatch`` runs after loading (AdvisoryIndex.query_batch);
it also reports how long validating+parsing and indexing the records take. Data is random but
seeded, so runs are comparable. Exit status 1 if the batch misses the target.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from advisories.matching import AdvisoryIndex, Query
from advisories.models import Advisory

ECOSYSTEMS = ("PyPI", "npm", "Vouch")
TARGET_SECONDS = 1.0


def _version(rng: random.Random, ecosystem: str) -> str:
    major, minor, patch = rng.randint(0, 12), rng.randint(0, 20), rng.randint(0, 30)
    if ecosystem == "PyPI":
        suffix = rng.choice(["", "", "", "rc1", ".post1", "a2"])
        return f"{major}.{minor}.{patch}{suffix}"
    suffix = rng.choice(["", "", "", "-rc.1", "-beta.2"])
    return f"{major}.{minor}.{patch}{suffix}"


def _events(rng: random.Random, ecosystem: str) -> list[dict[str, str]]:
    """introduced/fixed (or last_affected) pairs at increasing release versions."""
    points = sorted({(rng.randint(0, 12), rng.randint(0, 20), rng.randint(0, 30))
                     for _ in range(rng.choice([1, 2, 4]))})  # fmt: skip
    texts = [".".join(map(str, point)) for point in points]
    closing = rng.choice(["fixed", "fixed", "fixed", "last_affected"])
    events: list[dict[str, str]] = [{"introduced": "0"}] if len(texts) % 2 else []
    for index, text in enumerate(texts):
        opening = (index % 2 == 0) != bool(len(texts) % 2)
        events.append({"introduced": text} if opening else {closing: text})
    if rng.random() < 0.1:
        events.append({"limit": "*"})
    return events


def synthetic_records(count: int, packages: int, seed: int = 5) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    records = []
    for number in range(1, count + 1):
        ecosystem = rng.choice(ECOSYSTEMS)
        name = f"pkg-{rng.randrange(packages)}"
        entry: dict[str, Any] = {
            "package": {"ecosystem": ecosystem, "name": name},
            "ranges": [
                {"type": "ECOSYSTEM", "events": _events(rng, ecosystem)}
                for _ in range(rng.choice([1, 1, 2]))
            ],
        }
        if rng.random() < 0.2:
            entry["versions"] = [_version(rng, ecosystem) for _ in range(rng.randint(1, 30))]
        record: dict[str, Any] = {
            "schema_version": "1.7.5",
            "id": f"x_VOUCH-2026-{number:05d}",
            "modified": "2026-01-01T00:00:00Z",
            "summary": f"synthetic advisory {number}",
            "affected": [entry],
        }
        if rng.random() < 0.02:
            record["withdrawn"] = "2026-01-02T00:00:00Z"
        records.append(record)
    return records


def synthetic_queries(count: int, packages: int, seed: int = 7) -> list[Query]:
    rng = random.Random(seed)
    queries = []
    for _ in range(count):
        ecosystem = rng.choice(ECOSYSTEMS)
        name = f"pkg-{rng.randrange(int(packages * 1.2))}"  # ~1/6 unknown packages
        queries.append(Query(ecosystem, name, _version(rng, ecosystem)))
    return queries


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--advisories", type=int, default=10_000)
    parser.add_argument("--packages", type=int, default=1_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    raw = synthetic_records(args.advisories, args.packages)
    started = time.perf_counter()
    records = [Advisory.from_json(item) for item in raw]
    parse_s = time.perf_counter() - started

    started = time.perf_counter()
    index = AdvisoryIndex()
    index.add_all(records)
    index_s = time.perf_counter() - started

    queries = synthetic_queries(args.queries, args.packages)
    timings, hits = [], 0
    for _ in range(args.repeat):
        started = time.perf_counter()
        results = index.query_batch(queries)
        timings.append(time.perf_counter() - started)
        hits = sum(len(r) for r in results)
    matched = sum(1 for r in results if r)

    best, median = min(timings), statistics.median(timings)
    print(f"advisories: {len(records):,} across {args.packages:,} packages x 3 ecosystems")
    print(f"validate + parse (schema + model): {parse_s:.2f} s "
          f"({parse_s / len(records) * 1e6:.0f} us/record)")  # fmt: skip
    print(f"build index: {index_s:.2f} s")
    print(f"query_batch of {len(queries):,}: best {best * 1000:.1f} ms, "
          f"median {median * 1000:.1f} ms over {args.repeat} runs "
          f"(target < {TARGET_SECONDS * 1000:.0f} ms)")  # fmt: skip
    print(f"queries with a match: {matched:,}; advisories returned: {hits:,}")
    return 0 if median < TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
