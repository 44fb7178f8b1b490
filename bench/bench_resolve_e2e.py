"""`vouch lock` end to end against a server on loopback, cold and warm cache (issue 3).

    .venv/bin/python bench/bench_resolve_e2e.py                      # 300 packages x 5 versions
    .venv/bin/python bench/bench_resolve_e2e.py --full               # 2,000 x 20 (issue 3)
    .venv/bin/python bench/bench_resolve_e2e.py --packages 1000 --versions 10 --direct 200

Generates the synthetic registry of ``bench/synthetic.py`` (``make_synthetic_registry``: every
version has 5-15 caret-range dependencies on packages of higher index; ``--lag`` of them point
to an old major), starts `vouch serve` on loopback with a fresh data directory (development
mode, signature policy ``none``) and publishes every version with its dependencies from
``--threads`` clients (a package is published once every package it depends on is, since the
registry checks that each dependency range is satisfiable). Then, in a project whose
``vouch.toml`` holds ``--direct`` direct dependencies (``make_root``: ``>=1.0.0`` on packages
from the first half; 200 by default, or as many as the registry allows), it times:

1. `vouch lock` with a cold cache (a fresh, empty ``VOUCH_CACHE_DIR``): wall time of the whole
   command, Python start-up included, ``--repeat`` times with a new cache each;
2. `vouch lock` warm (``vouch.lock`` removed, the last cold run's cache kept: its metadata is
   within the 60 s TTL `vouch lock` uses), ``--repeat`` times;
3. for reference, the in-process resolve of the same graph (``versions.resolver.resolve`` over
   the generated data, metadata preloaded: what `bench/bench_resolve.py` measures at full size),
   and the start-up floor of any `vouch` command (``python -c 'import client.cli'``).

Issue 3 sets a target only for the in-process figure (< 2 s at 2,000 x 20 with 200 direct
dependencies); it is shown as the target of the end-to-end rows too, to read them against.
Every run's lockfile must hold the same packages as the in-process resolution. Exits 0 after
printing the table, 1 when a step fails.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import sys
import threading
import time
import tomllib
from pathlib import Path

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
    running_server,
)
from bench.synthetic import Registry, make_root, make_synthetic_registry, to_source
from versions.resolver import InMemorySource, resolve

TARGET_S = 2.0


def publish_registry(base: str, token: str, registry: Registry, threads: int) -> float:
    """Publish every version; each package waits until all of its dependencies are in.

    Packages are submitted in descending index order and dependencies always have a higher
    index, so a waiting task only waits on tasks the executor started before it.
    """
    done = {name: threading.Event() for name in registry}
    failures: list[BaseException] = []
    local = threading.local()
    clients: list[httpx.Client] = []

    def client() -> httpx.Client:
        if not hasattr(local, "client"):
            local.client = authed_client(base, token)
            clients.append(local.client)
        found: httpx.Client = local.client
        return found

    def task(name: str) -> None:
        try:
            needed = {dep for deps in registry[name].values() for dep in deps}
            for dep in needed:
                while not done[dep].wait(timeout=1):
                    if failures:
                        return
            for version, deps in registry[name].items():
                body = f"{name} {version}\n".encode()
                publish(client(), name, version, body,
                        metadata=json.dumps({"dependencies": deps}))
            done[name].set()
        except BaseException as err:
            failures.append(err)
            raise

    started = time.perf_counter()
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=threads) as pool:
            futures = [pool.submit(task, name) for name in sorted(registry, reverse=True)]
            for future in concurrent.futures.as_completed(futures):
                error = future.exception()
                if error is not None:
                    pool.shutdown(cancel_futures=True)
                    raise BenchError(f"publishing the registry failed: {error}") from error
    finally:
        for each in clients:
            each.close()
    return time.perf_counter() - started


def time_lock(ws: Workspace, base: str, project: Path, cache: Path) -> tuple[float, set[str]]:
    (project / "vouch.lock").unlink(missing_ok=True)
    env = ws.client_env(base, None, cache)
    started = time.perf_counter()
    check_vouch(["lock"], env, cwd=project)
    elapsed = time.perf_counter() - started
    locked = tomllib.loads((project / "vouch.lock").read_text()).get("package", [])
    return elapsed, {f"{p['name']}@{p['version']}" for p in locked}


def in_process(registry: Registry, root: dict[str, str]) -> tuple[float, set[str]]:
    source = to_source(registry)
    assert isinstance(source, InMemorySource)
    started = time.perf_counter()
    result = resolve(root, source)
    elapsed = time.perf_counter() - started
    return elapsed, {f"{name}@{version}" for name, version in result.items()}


def run(args: argparse.Namespace) -> int:
    registry = make_synthetic_registry(args.packages, args.versions, args.seed, lag=args.lag)
    direct = min(args.direct, len(registry))
    root = make_root(registry, count=direct, seed=args.seed)
    edges = sum(len(d) for versions in registry.values() for d in versions.values())
    print(f"registry: {len(registry):,} packages x {args.versions} versions, {edges:,} "
          f"dependency edges; root with {len(root)} direct dependencies")
    reference_s, expected = in_process(registry, root)
    print(f"in-process resolve: {reference_s:.2f} s, {len(expected)} packages")

    cold: list[float] = []
    warm: list[float] = []
    with Workspace("resolve", keep=args.keep) as ws:
        token = create_token(ws.env, "bench", "--admin")
        with running_server(ws) as base:
            print(f"server: {base}")
            seconds = publish_registry(base, token, registry, args.threads)
            count = len(registry) * args.versions
            print(f"published {count:,} versions in {seconds:.1f} s "
                  f"({count / seconds:.0f} publishes/s)")
            project = ws.path / "project"
            project.mkdir()
            lines = ["[dependencies]"] + [f'"{n}" = "{r}"' for n, r in sorted(root.items())]
            (project / "vouch.toml").write_text("\n".join(lines) + "\n")
            cache = ws.path / "cache-unused"
            for label, samples in (("cold", cold), ("warm", warm)):
                for attempt in range(args.repeat):
                    if label == "cold":
                        cache = ws.path / f"cache-{attempt}"  # fresh and empty
                    elapsed, locked = time_lock(ws, base, project, cache)
                    if locked != expected:
                        raise BenchError(f"vouch lock ({label}) locked {len(locked)} packages; "
                                         f"in-process resolution chose {len(expected)}; they "
                                         f"differ on {sorted(locked ^ expected)[:5]}")
                    samples.append(elapsed)
                    print(f"vouch lock {label} #{attempt + 1}: {elapsed:.2f} s")
            startup = cli_startup_seconds(ws)  # right after the runs, under the same load

    figures = Figures()
    shape = f"{len(registry):,} x {args.versions}, {len(root)} direct, {len(expected)} locked"
    figures.add(f"publish the registry ({args.threads} clients)", f"{seconds:.1f} s")
    for label, samples in (("cold cache", cold), ("warm cache", warm)):
        runs = ", ".join(f"{s:.2f}" for s in samples)
        figures.add(f"vouch lock end to end, {label} ({shape}; runs: {runs})",
                    f"{median(samples):.2f} s", f"< {TARGET_S:.0f} s (in-process target)",
                    median(samples) < TARGET_S)
    figures.add("  of which Python start-up + imports "
                "(`python -c 'import client.cli'`, median of 3)", f"{startup:.2f} s")
    figures.add(f"in-process resolve, metadata preloaded ({shape})", f"{reference_s:.2f} s",
                f"< {TARGET_S:.0f} s at 2,000 x 20", reference_s < TARGET_S)
    print()
    figures.print()
    print("\n`vouch lock` times are the wall time of the whole command (Python start-up, "
          "metadata requests over HTTP, resolution, writing vouch.lock).")
    print(machine_note())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", type=int, default=300)
    parser.add_argument("--versions", type=int, default=5)
    parser.add_argument("--full", action="store_true",
                        help="the issue's size: --packages 2000 --versions 20")
    parser.add_argument("--direct", type=int, default=200, help="direct dependencies of the root")
    parser.add_argument("--lag", type=float, default=0.001,
                        help="share of dependencies on an old major (as bench_resolve.py)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=8, help="publishing clients")
    parser.add_argument("--repeat", type=int, default=3, help="cold and warm runs each")
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    args = parser.parse_args(argv)
    if args.full:
        args.packages, args.versions = 2000, 20
    if min(args.packages, args.versions, args.direct, args.threads, args.repeat) < 1:
        parser.error("counts must be at least 1")
    return main_wrapper(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
