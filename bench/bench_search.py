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

    from bench.bench_search import make_synthetic_documents
    docs = make_synthetic_documents(100_000, seed=7)
"""

from __future__ import annotations

import argparse
import math
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from search.documents import PackageDocument
from search.elastic_queries import search_body, suggest_body
from search.embedded import EmbeddedIndex
from search.text import name_words, normalize_query

# Words seen in real package names; families share prefixes (py*, django-*, types-*, ...).
_WORD_TEXT = (
    "http client server api json yaml toml xml csv sql orm db async io net web socket rest "
    "graphql grpc proto auth oauth jwt token crypto hash cache redis mongo postgres mysql "
    "sqlite queue task worker job cron log logger trace metrics monitor test mock fixture "
    "lint format type types schema valid parse parser render template html css markdown "
    "doc docs cli shell term color progress config env settings path file fs zip tar image "
    "pdf audio video math stats plot chart data frame table array numeric ml model train "
    "tensor vision text nlp token lang geo time date clock uuid rand secure sign verify "
    "cloud aws gcp azure s3 docker kube deploy build pack bundle plugin ext core util utils "
    "tools kit lib helper helpers base common fast lite mini micro simple smart super open "
    "request requests response router route flask django fastapi pytest tox sphinx jupyter"
)
WORDS = tuple(_WORD_TEXT.split())
FAMILIES = ("py", "django-", "flask-", "pytest-", "types-", "aws-", "sphinx-", "jupyter-", "")
SCOPES = ("acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "tyrell")
_FILLER_TEXT = "a an the for and with of to fast small simple library tool toolkit helpers"
FILLER = tuple(_FILLER_TEXT.split())


def _name(rng: random.Random) -> str:
    family = rng.choice(FAMILIES)
    parts = [rng.choice(WORDS) for _ in range(rng.choice((1, 1, 2, 2, 2, 3)))]
    sep = rng.choice(("-", "-", "-", "_", "."))
    name = family + sep.join(parts)
    if rng.random() < 0.1:
        name += str(rng.randint(2, 9))
    if rng.random() < 0.15:
        name = f"@{rng.choice(SCOPES)}/{name}"
    return name


def make_synthetic_documents(n: int, seed: int = 7) -> list[PackageDocument]:
    """``n`` deterministic, realistic package documents with Zipf-like downloads."""
    rng = random.Random(seed)
    ranks = list(range(1, n + 1))
    rng.shuffle(ranks)
    names: set[str] = set()
    start = datetime(2024, 1, 1, tzinfo=UTC)
    docs = []
    for i in range(n):
        name = _name(rng)
        while name.lower() in names:
            name = f"{name}-{rng.randint(0, 99_999)}"
        names.add(name.lower())
        words = [rng.choice(WORDS + FILLER * 3) for _ in range(rng.randint(4, 16))]
        total = int(5e8 / ranks[i] ** 1.1 * rng.uniform(0.5, 1.5))
        docs.append(
            PackageDocument(
                name=name,
                description=" ".join(words).capitalize() + ".",
                keywords=tuple(rng.sample(WORDS, rng.randint(0, 5))),
                maintainers=(f"user{rng.randint(1, n // 10 + 1)}",),
                latest_version=f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}",
                downloads_total=total,
                downloads_recent=total // rng.randint(5, 50),
                deprecated=rng.random() < 0.02,
                quarantined=rng.random() < 0.002,
                has_advisories=rng.random() < 0.03,
                verified_publisher=rng.random() < 0.3,
                updated_at=start + timedelta(minutes=rng.randint(0, 900_000)),
            )
        )
    return docs


def suggest_queries(docs: Sequence[PackageDocument], count: int, seed: int) -> list[str]:
    """Prefixes of 1-8 characters of real names; half from the most downloaded packages."""
    rng = random.Random(seed)
    popular = sorted(docs, key=lambda d: -d.downloads_total)[:2_000]
    out = []
    for i in range(count):
        doc = rng.choice(popular if i % 2 else docs)
        source = doc.name if rng.random() < 0.8 else rng.choice(name_words(doc.name))
        out.append(source[: rng.randint(1, 8)])
    return out


def search_queries(docs: Sequence[PackageDocument], count: int, seed: int) -> list[str]:
    """Exact names, one or two name words, and description words."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        doc = rng.choice(docs)
        kind = i % 4
        if kind == 0:
            out.append(doc.name)
        elif kind == 1:
            out.append(rng.choice(name_words(doc.name)))
        elif kind == 2:
            out.append(" ".join(rng.sample(WORDS, 2)))
        else:
            out.append(rng.choice(doc.description.rstrip(".").split()))
    return out


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
