"""`vouch verify` of a 500-entry lockfile and `/v1/querybatch` over HTTP (issue 5).

    .venv/bin/python bench/bench_lockfile_verify.py
    .venv/bin/python bench/bench_lockfile_verify.py --packages 500 --advisories 10000 --repeat 3

Starts `vouch serve` on loopback with a fresh data directory (development mode, signature
policy ``none``), creates an admin user and a security user (`vouch admin create-user sec
--security`), and then:

1. imports ``--advisories`` synthetic OSV records (``bench.bench_advisories.synthetic_records``:
   PyPI, npm and Vouch ecosystems, 1,000 package names) through
   ``POST /api/v1/advisories/import`` as the security user, in chunks of ``--import-chunk``;
2. posts one ``/v1/querybatch`` of ``--queries`` queries: the first call builds the server's
   in-memory advisory index (reported separately), then ``--batches`` warm calls;
3. publishes ``--packages`` small unsigned packages (1 KiB, names that no advisory names) from
   8 concurrent clients, writes a ``vouch.toml`` listing them all and runs `vouch lock`;
4. times `vouch verify --lockfile vouch.lock --allow-unsigned` end to end (the wall time of the
   command, Python start-up included) ``--repeat`` times with a cold cache (a fresh, empty
   ``VOUCH_CACHE_DIR`` each time), then ``--repeat`` times warm (the last cold run's cache).

Targets: verify cold < 10 s, warm < 2 s; querybatch of 1,000 queries over 10,000 advisories
< 1 s (judged on the warm calls; the first call's index build is reported beside it). Prints a
table; exits 0 even when a target is missed, 1 when a step fails (a verify that does not exit
0, a request that is refused, a lockfile without the expected entries).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._server import (
    BenchError,
    Figures,
    Workspace,
    authed_client,
    check_vouch,
    cli_startup_seconds,
    create_token,
    machine_note,
    main_wrapper,
    median,
    publish,
    run_vouch,
    running_server,
)
from bench.bench_advisories import synthetic_queries, synthetic_records

VERIFY_COLD_S = 10.0
VERIFY_WARM_S = 2.0
QUERYBATCH_S = 1.0
ADVISORY_PACKAGES = 1_000
NAME = "lv-{:05d}"  # never one of the advisories' names (pkg-N)
VERSION = "1.0.0"


# ---- advisories -------------------------------------------------------------------------------


def import_advisories(base: str, token: str, count: int, chunk: int) -> float:
    records = synthetic_records(count, ADVISORY_PACKAGES)
    started = time.perf_counter()
    with authed_client(base, token, timeout=600) as client:
        for start in range(0, len(records), chunk):
            answer = client.post("/api/v1/advisories/import", json=records[start:start + chunk])
            if answer.status_code != 200:
                raise BenchError(f"advisory import answered {answer.status_code}: "
                                 f"{answer.text[:800]}")
            report = answer.json()
            failed = [r for r in report.get("results", []) if r.get("status") == "invalid"]
            if failed:
                raise BenchError(f"{len(failed)} synthetic records refused, first: {failed[0]}")
    return time.perf_counter() - started


def querybatch_body(count: int) -> bytes:
    queries = [{"package": {"ecosystem": q.ecosystem, "name": q.name}, "version": q.version}
               for q in synthetic_queries(count, ADVISORY_PACKAGES)]
    return json.dumps({"queries": queries}).encode()


def time_querybatch(client: httpx.Client, body: bytes, queries: int) -> tuple[float, int]:
    started = time.perf_counter()
    answer = client.post("/v1/querybatch", content=body,
                         headers={"Content-Type": "application/json"})
    elapsed = time.perf_counter() - started
    if answer.status_code != 200:
        raise BenchError(f"/v1/querybatch answered {answer.status_code}: {answer.text[:500]}")
    results = answer.json().get("results", [])
    if len(results) != queries:
        raise BenchError(f"/v1/querybatch answered {len(results)} results for {queries} queries")
    return elapsed, sum(1 for r in results if r.get("vulns"))


# ---- packages and the lockfile ----------------------------------------------------------------


def publish_packages(base: str, token: str, count: int, threads: int = 8) -> float:
    def worker(indices: range) -> None:
        with authed_client(base, token) as client:
            for i in indices:
                stamp = f"{NAME.format(i)}\n".encode()
                publish(client, NAME.format(i), VERSION, (stamp * 200)[:1024],
                        metadata=json.dumps({"description": f"verify benchmark package {i}"}))

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(worker, [range(t, count, threads) for t in range(threads)]))
    return time.perf_counter() - started


def write_lockfile(ws: Workspace, base: str, count: int) -> tuple[Path, float]:
    """`vouch lock` on a vouch.toml naming every package; returns the project dir and time."""
    project = ws.path / "project"
    project.mkdir()
    lines = ["[dependencies]"] + [f'"{NAME.format(i)}" = "{VERSION}"' for i in range(count)]
    (project / "vouch.toml").write_text("\n".join(lines) + "\n")
    env = ws.client_env(base, None, ws.path / "lock-cache")
    started = time.perf_counter()
    check_vouch(["lock"], env, cwd=project)
    elapsed = time.perf_counter() - started
    locked = tomllib.loads((project / "vouch.lock").read_text()).get("package", [])
    if len(locked) != count:
        raise BenchError(f"vouch.lock holds {len(locked)} packages, expected {count}")
    return project, elapsed


def time_verify(ws: Workspace, base: str, project: Path, cache: Path) -> float:
    env = ws.client_env(base, None, cache)
    started = time.perf_counter()
    done = run_vouch(["verify", "--lockfile", "vouch.lock", "--allow-unsigned"], env,
                     cwd=project)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise BenchError(f"`vouch verify --lockfile` exited {done.returncode}:\n"
                         f"{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return elapsed


# ---- the run ----------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    figures = Figures()
    with Workspace("verify", keep=args.keep) as ws:
        admin = create_token(ws.env, "bench", "--admin")
        security = create_token(ws.env, "sec", "--security")
        with running_server(ws) as base:
            print(f"server: {base}")
            seconds = import_advisories(base, security, args.advisories, args.import_chunk)
            print(f"imported {args.advisories:,} advisories in {seconds:.1f} s")
            figures.add(f"import {args.advisories:,} advisories (HTTP, chunks of "
                        f"{args.import_chunk})", f"{seconds:.1f} s")
            add_querybatch(figures, base, args)

            seconds = publish_packages(base, admin, args.packages)
            print(f"published {args.packages} packages in {seconds:.1f} s")
            project, seconds = write_lockfile(ws, base, args.packages)
            figures.add(f"vouch lock ({args.packages} direct entries, cold cache)",
                        f"{seconds:.2f} s")
            add_verify(figures, ws, base, project, args)
    print()
    figures.print()
    print("\nverify times are the wall time of the whole `vouch` command (Python start-up "
          "included); unsigned packages, --allow-unsigned.")
    print(machine_note())
    return 0


def add_querybatch(figures: Figures, base: str, args: argparse.Namespace) -> None:
    body = querybatch_body(args.queries)
    with httpx.Client(base_url=base, timeout=120) as client:
        first, matched = time_querybatch(client, body, args.queries)
        warm = [time_querybatch(client, body, args.queries)[0] for _ in range(args.batches)]
    label = f"querybatch {args.queries:,} queries / {args.advisories:,} advisories"
    figures.add(f"{label}, first call (builds the index)", f"{first:.3f} s")
    figures.add(f"{label}, warm (median of {len(warm)}; max {max(warm):.3f} s)",
                f"{median(warm):.3f} s", f"< {QUERYBATCH_S:.0f} s",
                median(warm) < QUERYBATCH_S)
    print(f"querybatch: {matched} of {args.queries} queries matched an advisory")


def add_verify(figures: Figures, ws: Workspace, base: str, project: Path,
               args: argparse.Namespace) -> None:
    cold = []
    cache = ws.path / "cache-unused"
    for attempt in range(args.repeat):
        cache = ws.path / f"verify-cache-{attempt}"  # fresh and empty: a cold cache
        cold.append(time_verify(ws, base, project, cache))
        print(f"verify cold #{attempt + 1}: {cold[-1]:.2f} s")
    warm = []
    for attempt in range(args.repeat):
        warm.append(time_verify(ws, base, project, cache))
        print(f"verify warm #{attempt + 1}: {warm[-1]:.2f} s")
    for label, samples, target in (("cold cache", cold, VERIFY_COLD_S),
                                   ("warm cache", warm, VERIFY_WARM_S)):
        spread = ", ".join(f"{s:.2f}" for s in samples)
        figures.add(f"vouch verify {args.packages}-entry lockfile, {label} (runs: {spread})",
                    f"{median(samples):.2f} s", f"< {target:.0f} s", median(samples) < target)
    figures.add("  of which Python start-up + imports (`python -c 'import client.cli'`, "
                "median of 3)", f"{cli_startup_seconds(ws):.2f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", type=int, default=500, help="lockfile entries")
    parser.add_argument("--advisories", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=1_000, help="queries per batch (<= 1000)")
    parser.add_argument("--batches", type=int, default=5, help="warm querybatch calls")
    parser.add_argument("--repeat", type=int, default=3, help="cold and warm verify runs each")
    parser.add_argument("--import-chunk", type=int, default=1_000)
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    args: Any = parser.parse_args(argv)
    if min(args.packages, args.advisories, args.queries, args.batches, args.repeat) < 1:
        parser.error("counts must be at least 1")
    return main_wrapper(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
