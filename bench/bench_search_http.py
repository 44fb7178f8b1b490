"""Search over HTTP (issue 6): suggest and search p50/p99 on 100,000 packages, HTTP included.

    .venv/bin/python bench/bench_search_http.py
    .venv/bin/python bench/bench_search_http.py --packages 20000 --queries 2000 --clients 1,8

Builds the embedded (tantivy) index of ``--packages`` synthetic packages
(``search.synthetic.make_synthetic_documents``) directly in ``<VOUCH_DATA_DIR>/search`` with
``search.open_index("embedded", ...).rebuild(...)``, BEFORE the server starts (publishing
100,000 packages over HTTP would take far longer than the queries; the server opens the same
directory, see ``app.registry.open_search``). Then starts `vouch serve` and measures:

1. the figures judged against the targets: for each count in ``--clients`` (default 1 and 4),
   that many threads, each with its own keep-alive ``httpx.Client``, sending ``--queries``
   requests in total to ``GET /api/v1/search/suggest?q=`` (prefixes of 1-8 characters of real
   names, half from the 2,000 most downloaded packages) and then to ``GET /api/v1/search?q=``
   (exact names, name words, word pairs, description words); the latency of each request is
   timed in the client, so it includes HTTP, JSON and the client's own Python overhead;
2. with `wrk` installed: throughput and latency at ``--connections`` connections for
   ``--duration`` seconds, its Lua script rotating through the same query lists.

Targets: suggest p99 < 20 ms, search p99 < 50 ms. Prints a table; exits 0 even when a target
is missed, 1 when the server does not start or any request fails.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from urllib.parse import quote

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._server import (
    BenchError,
    Figures,
    Workspace,
    machine_note,
    main_wrapper,
    median,
    percentile,
    running_server,
)
from search import open_index
from search.documents import PackageDocument
from search.synthetic import make_synthetic_documents, search_queries, suggest_queries

SUGGEST_P99_MS = 20.0
SEARCH_P99_MS = 50.0

# Each wrk thread has its own Lua state: it reads the path list and starts at its own offset.
WRK_LUA = """
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  paths = {}
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  i = ((id or 0) * 7919) % #paths
end

function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"errors": %d}\\n', summary.requests, summary.duration, latency:percentile(50),
    latency:percentile(99), e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def build_index(data_dir: Path, packages: int,
                seed: int) -> tuple[float, float, list[PackageDocument]]:
    """Generate the documents and build the index where the server will look for it."""
    started = time.perf_counter()
    docs = make_synthetic_documents(packages, seed)
    generated = time.perf_counter() - started
    index = open_index("embedded", path=data_dir / "search")
    try:
        started = time.perf_counter()
        index.rebuild(docs)
        built = time.perf_counter() - started
    finally:
        index.close()
    return generated, built, docs


def pool_latencies(base: str, paths: list[str], clients: int, warmup: int) -> list[float]:
    """Per-request latencies (ms) from ``clients`` keep-alive clients sharing ``paths``."""
    chunks = [paths[i::clients] for i in range(clients)]

    def worker(chunk: list[str]) -> list[float]:
        out = []
        with httpx.Client(base_url=base, timeout=30) as client:
            for path in chunk[:warmup]:
                _get(client, path)
            for path in chunk:
                started = time.perf_counter()
                _get(client, path)
                out.append((time.perf_counter() - started) * 1000)
        return out

    with concurrent.futures.ThreadPoolExecutor(max_workers=clients) as pool:
        return [ms for chunk in pool.map(worker, chunks) for ms in chunk]


def _get(client: httpx.Client, path: str) -> None:
    answer = client.get(path)
    if answer.status_code != 200:
        raise BenchError(f"GET {path} answered {answer.status_code}: {answer.text[:300]}")


def check_answers(base: str, exact: str) -> None:
    """The index the server opened is the one built here: the exact name comes first."""
    with httpx.Client(base_url=base, timeout=30) as client:
        found = client.get(f"/api/v1/search/suggest?q={quote(exact, safe='')}").json()
        names = [s["name"] for s in found.get("suggestions", [])]
        if not names or names[0] != exact:
            raise BenchError(f"suggest {exact!r} answered {names[:3]}: the server does not see "
                             "the prebuilt index")
        total = client.get(f"/api/v1/search?q={quote(exact, safe='')}").json().get("total", 0)
        if total < 1:
            raise BenchError(f"search {exact!r} found nothing")


def run_wrk(base: str, paths: list[str], workdir: Path, label: str, connections: int,
            duration: int) -> dict[str, float]:
    path_file = workdir / f"{label}.paths"
    path_file.write_text("\n".join(paths) + "\n")
    lua = workdir / "rotate.lua"
    lua.write_text(textwrap.dedent(WRK_LUA))
    command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{duration}s",
               "--latency", "--timeout", "10s", "-s", str(lua), f"{base}/", "--",
               str(path_file)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise BenchError(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    if data["errors"]:
        raise BenchError(f"wrk saw {data['errors']} failed requests for {label}")
    return {"rps": data["requests"] / (data["duration_us"] / 1e6),
            "p50": data["p50_us"] / 1000, "p99": data["p99_us"] / 1000}


def run(args: argparse.Namespace) -> int:
    with Workspace("search", keep=args.keep) as ws:
        generated, built, docs = build_index(ws.data_dir, args.packages, args.seed)
        print(f"{len(docs):,} synthetic packages generated in {generated:.1f} s; "
              f"embedded index built in {built:.1f} s (before the server starts)")
        suggest_paths = [f"/api/v1/search/suggest?q={quote(q, safe='')}"
                         for q in suggest_queries(docs, args.queries, args.seed + 1)]
        search_paths = [f"/api/v1/search?q={quote(q, safe='')}"
                        for q in search_queries(docs, args.queries, args.seed + 2)]
        exact = docs[0].name
        del docs
        with running_server(ws) as base:
            print(f"server: {base}")
            check_answers(base, exact)
            pooled = {(label, clients): pool_latencies(base, paths, clients, args.warmup)
                      for clients in args.clients
                      for label, paths in (("suggest", suggest_paths),
                                           ("search", search_paths))}
            wrk: dict[str, dict[str, float]] = {}
            if shutil.which("wrk") and args.duration > 0:
                for label, paths in (("suggest", suggest_paths), ("search", search_paths)):
                    wrk[label] = run_wrk(base, paths, ws.path, label, args.connections,
                                         args.duration)

    figures = Figures()
    figures.add("index build (rebuild of all packages)", f"{built:.1f} s")
    targets = {"suggest": SUGGEST_P99_MS, "search": SEARCH_P99_MS}
    for (label, clients), ms in pooled.items():
        p99, target = percentile(ms, 99), targets[label]
        figures.add(f"{label} p50 / p99 (httpx, {clients} keep-alive client"
                    f"{'s' if clients > 1 else ''}, n={len(ms)})",
                    f"{median(ms):.2f} / {p99:.2f} ms", f"p99 < {target:.0f} ms", p99 < target)
    for label, target in targets.items():
        if label in wrk:
            w = wrk[label]
            figures.add(f"{label} p50 / p99 (wrk, c={args.connections}, {w['rps']:,.0f} req/s)",
                        f"{w['p50']:.2f} / {w['p99']:.2f} ms", f"p99 < {target:.0f} ms",
                        w["p99"] < target)
    if not wrk:
        figures.add("wrk figures", "skipped (wrk missing or --duration 0)")
    print()
    figures.print()
    print(f"\n{args.packages:,} packages, embedded (tantivy) backend, one `vouch serve` worker. "
          "Judged figures: latency timed in the Python client per request (HTTP included).")
    print(machine_note())
    return 0


def _counts(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=4_000,
                        help="requests per endpoint for the httpx pool; default 4000")
    parser.add_argument("--clients", type=_counts, default=[1, 4],
                        help="keep-alive httpx clients, one measurement per count; default 1,4")
    parser.add_argument("--warmup", type=int, default=50, help="unmeasured requests per client")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--duration", type=int, default=10,
                        help="seconds per wrk run (0: skip wrk); default 10")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    args = parser.parse_args(argv)
    if args.packages < 1 or args.queries < 1 or min(args.clients) < 1:
        parser.error("--packages, --queries and --clients must be at least 1")
    return main_wrapper(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
