"""Benchmark the search library on 100,000 synthetic packages (in process, no HTTP).

Run::

    .venv/bin/python bench/bench_search.py                 # 100,000 packages, embedded
    .venv/bin/python bench/bench_search.py -n 20000 --fts5  # also time an SQLite FTS5 variant

Reports: embedded (tantivy) build time and index size; ``suggest`` and ``search`` latency
(p50/p90/p99/max over seeded query sets, single thread, after warm-up); and the cost of
*building* Elasticsearch request bodies only (no cluster is contacted: the emulator available
here is too slow to benchmark, see the search research notes). ``--fts5`` times SQLite FTS5 on
the word-prefix query that dominates autocomplete cost, for the backend choice.

Reuse the corpus elsewhere (the HTTP benchmark)::

    from search.synthetic import make_synthetic_documents
    docs = make_synthetic_documents(100_000, seed=7)
"""

from __future__ import annotations

import argparse
import math
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from search.documents import PackageDocument
from search.elastic_queries import search_body, suggest_body
from search.embedded import EmbeddedIndex
from search.synthetic import make_synthetic_documents, search_queries, suggest_queries
from search.text import name_words, normalize_query


def timed(fn: Callable[[str], object], queries: Sequence[str], warmup: int = 100) -> list[float]:
    for q in queries[:warmup]:
        fn(q)
    samples = []
    for q in queries:
        t0 = time.perf_counter()
        fn(q)
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def report(label: str, ms: list[float]) -> None:
    ms = sorted(ms)
    q = statistics.quantiles(ms, n=100, method="inclusive")
    print(
        f"  {label:<34} p50 {q[49]:7.3f} ms  p90 {q[89]:7.3f} ms  "
        f"p99 {q[98]:7.3f} ms  max {ms[-1]:7.3f} ms  (n={len(ms)})"
    )


def bench_fts5(docs: Sequence[PackageDocument], queries: Sequence[str], where: Path) -> None:
    """SQLite FTS5 on the autocomplete word-prefix query, ranked like the embedded backend."""
    db = sqlite3.connect(where / "fts5.db")
    db.execute("CREATE TABLE pkg(id INTEGER PRIMARY KEY, name TEXT, downloads INTEGER)")
    db.execute(
        "CREATE VIRTUAL TABLE fts USING fts5(words, description, tokenize='unicode61', "
        "prefix='2 3 4 5')"
    )
    t0 = time.perf_counter()
    for i, d in enumerate(docs):
        db.execute("INSERT INTO pkg VALUES (?,?,?)", (i, d.name, d.downloads_total))
        db.execute(
            "INSERT INTO fts(rowid, words, description) VALUES (?,?,?)",
            (i, " ".join(name_words(d.name)), d.description),
        )
    db.commit()
    print(f"  fts5 build                         {time.perf_counter() - t0:7.2f} s")
    sql = (
        "SELECT pkg.name FROM fts JOIN pkg ON pkg.id = fts.rowid WHERE fts MATCH ? "
        "ORDER BY bm25(fts) * -log2(2 + pkg.downloads) LIMIT 10"
    )

    def run(q: str) -> object:
        tokens = name_words(normalize_query(q))
        if not tokens:
            return []
        match = " AND ".join(f'words : "{t}" *' for t in tokens)
        return db.execute(sql, (match,)).fetchall()

    report("fts5 word-prefix suggest", timed(run, queries))
    db.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--packages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fts5", action="store_true", help="also time SQLite FTS5")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    docs = make_synthetic_documents(args.packages, args.seed)
    print(f"{len(docs):,} synthetic packages generated in {time.perf_counter() - t0:.2f} s")
    sq = suggest_queries(docs, args.queries, args.seed + 1)
    fq = search_queries(docs, args.queries, args.seed + 2)

    with tempfile.TemporaryDirectory() as tmp:
        index = EmbeddedIndex(Path(tmp) / "search")
        t0 = time.perf_counter()
        index.rebuild(docs)
        build = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())
        print("embedded (tantivy), in process, one thread:")
        print(f"  build (rebuild of all packages)    {build:7.2f} s   index {size / 1e6:.1f} MB")
        report("suggest(prefix, limit=10)", timed(index.suggest, sq))
        report("search(query, size=20)", timed(index.search, fq))
        report("search page 5 (size=20)", timed(lambda q: index.search(q, page=5), fq))
        batch = {d.name: (d.downloads_total + 1, d.downloads_recent) for d in docs[:1_000]}
        t0 = time.perf_counter()
        index.update_downloads(batch)
        print(f"  update_downloads(1,000 packages)   {time.perf_counter() - t0:7.3f} s")
        index.close()
        if args.fts5:
            print("sqlite FTS5 (comparison only):")
            bench_fts5(docs, sq, Path(tmp))

    print("elasticsearch: request-body construction only (no cluster contacted):")
    report("suggest_body", timed(lambda q: suggest_body(normalize_query(q), 10), sq))
    report("search_body", timed(lambda q: search_body(normalize_query(q), 0, 20, None), fq))
    assert math.isfinite(build)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
