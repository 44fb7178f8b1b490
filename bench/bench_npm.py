"""Issue 15's benchmark: npm packument reads (full and abbreviated) and ``npm publish``
throughput, Vouch beside Verdaccio, in the same run on this machine.

    npm install --prefix /tmp/verdaccio-ref verdaccio@6          # once, from the npm registry
    .venv/bin/python bench/bench_npm.py --verdaccio /tmp/verdaccio-ref
    .venv/bin/python bench/bench_npm.py --verdaccio /tmp/verdaccio-ref --quick

Each server gets ``--packages`` packages x 3 versions, published as ``npm publish`` sends them
(``PUT /{name}`` with the tarball in base64, built like tests/functional/npm_support.py) by
``--clients`` keep-alive clients, which gives publishes/s (Vouch: policy ``none`` as
`bench/_server.py` configures it, i.e. unsigned, measuring the npm path, storage and the
registry's own ECDSA signature, not gpg; Verdaccio: anonymous publishing allowed, no uplinks).
Then `wrk` reads random packuments for ``--duration`` seconds with npm install's ``Accept``
(abbreviated) and with ``application/json`` (full), and downloads random packages' 1.0.0
tarballs at the URL the packuments give. Vouch runs as `vouch serve --workers 2` on
SQLite; Verdaccio as one node process (its default). The figures are the best of ``--rounds``
rounds, with the 1-minute load average (2 shared cores: server and wrk compete). The issue's
target is packument reads at least 10x Verdaccio.

Exits 0 after printing the table (a missed target is not a failure), 1 when something breaks.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._server import (  # noqa: E402
    BenchError,
    Workspace,
    check_vouch,
    create_token,
    free_port,
    machine_note,
    main_wrapper,
    running_server,
)
from bench.bench_simple import WRK_LUA, Reads, process, wrk  # noqa: E402
from tests.functional.npm_support import package_json, publish_body, tarball  # noqa: E402

CORGI = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"
FULL = "application/json"
TARBALL = "pkg%d/-/pkg%d-1.0.0.tgz"


def bodies(packages: int) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for i in range(packages):
        name = f"pkg{i}"
        for minor in range(3):
            version = f"1.{minor}.0"
            manifest = package_json(name, version, dependencies={"left-pad": "^1.0.0"})
            data = tarball(manifest, {"index.js": f"module.exports = {i}{minor}\n".encode()})
            out.append((name, publish_body(name, version, data, manifest=manifest)))
    return out


def publish_all(base: str, items: list[tuple[str, dict[str, Any]]], clients: int,
                headers: dict[str, str]) -> float:
    batches = [items[i::clients] for i in range(clients)]

    def run(batch: list[tuple[str, dict[str, Any]]]) -> None:
        with httpx.Client(headers=headers, timeout=120) as http:
            for name, body in batch:
                answer = http.put(f"{base}{name}", json=body)
                if answer.status_code not in (200, 201):
                    raise BenchError(f"publish of {name} to {base}: {answer.status_code} "
                                     f"{answer.text[:300]}")

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(run, batch) for batch in batches]:
            future.result()
    return len(items) / (time.perf_counter() - started)


def check(base: str) -> None:
    doc = httpx.get(f"{base}pkg0", headers={"Accept": CORGI}, timeout=30)
    if doc.status_code != 200 or len(doc.json().get("versions", {})) != 3:
        raise BenchError(f"{base}pkg0 answered {doc.status_code}: {doc.text[:300]}")


def measure(base: str, path: str, packages: int, rounds: int, seconds: int,
            lua: Path) -> tuple[Reads, Reads, Reads]:
    """Abbreviated and full packuments, and tarball downloads (release 1.0.0 of random
    packages, at the URL the packuments give)."""
    best: dict[str, Reads] = {}
    for _ in range(rounds):
        for label, template, accept in (("corgi", "pkg%d", CORGI), ("full", "pkg%d", FULL),
                                        ("tarball", TARBALL, "*/*")):
            reads = wrk(base, path + template, packages, accept, seconds, lua)
            if label not in best or reads.rps > best[label].rps:
                best[label] = reads
    return best["corgi"], best["full"], best["tarball"]


def run_vouch(args: argparse.Namespace, items: list[tuple[str, dict[str, Any]]],
              lua: Path) -> tuple[str, float, Reads, Reads, Reads]:
    with Workspace("npm") as ws:
        check_vouch(["admin", "migrate"], ws.env)
        token = create_token(ws.env, "bench")
        with running_server(ws, workers=2) as base:
            rate = publish_all(f"{base}/npm/", items, args.clients,
                               {"Authorization": f"Bearer {token}"})
            check(f"{base}/npm/")
            return ("vouch (2 workers)", rate,
                    *measure(base, "/npm/", args.packages, args.rounds, args.duration, lua))


VERDACCIO_CONFIG = """
storage: {storage}
auth:
  htpasswd:
    file: {storage}/htpasswd
    max_users: -1
uplinks: {{}}
packages:
  '**':
    access: $all
    publish: $all
    unpublish: $all
server:
  keepAliveTimeout: 60
log: {{ type: stdout, format: pretty, level: error }}
max_body_size: 100mb
"""


def run_verdaccio(args: argparse.Namespace, items: list[tuple[str, dict[str, Any]]],
                  lua: Path) -> tuple[str, float, Reads, Reads, Reads]:
    binary = Path(args.verdaccio) / "node_modules" / "verdaccio" / "bin" / "verdaccio"
    if not binary.exists():
        raise BenchError(f"no Verdaccio at {binary} (see the docstring)")
    version = json.loads((binary.parent.parent / "package.json").read_text())["version"]
    with tempfile.TemporaryDirectory(prefix="bench-verdaccio-") as tmp:
        storage = Path(tmp) / "storage"
        storage.mkdir()
        config = Path(tmp) / "config.yaml"
        config.write_text(VERDACCIO_CONFIG.format(storage=storage))
        port = free_port()
        base = f"http://127.0.0.1:{port}/"
        with process(["node", str(binary), "--config", str(config), "--listen",
                      f"127.0.0.1:{port}"], Path(tmp) / "log", f"{base}-/ping"):
            rate = publish_all(base, items, args.clients, {})
            check(base)
            return (f"verdaccio {version}", rate,
                    *measure(base.rstrip("/"), "/", args.packages, args.rounds, args.duration,
                             lua))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--verdaccio", default="/tmp/verdaccio-ref",
                        help="the npm prefix Verdaccio is installed in (see the docstring)")
    parser.add_argument("--packages", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="50 packages, 5 s, one round")
    args = parser.parse_args()
    if args.quick:
        args.packages, args.duration, args.rounds = 50, 5, 1
    items = bodies(args.packages)
    with tempfile.TemporaryDirectory(prefix="bench-npm-") as tmp:
        lua = Path(tmp) / "npm.lua"
        lua.write_text(WRK_LUA)
        results = [run_vouch(args, items, lua), run_verdaccio(args, items, lua)]
    print(machine_note())
    print(f"{args.packages} packages x 3 versions ({len(items)} publishes, {args.clients} "
          f"clients); reads: wrk -t2 -c32, best of {args.rounds} x {args.duration} s, random "
          "packuments")
    header = (f"{'server':22} {'publish/s':>10} {'abbrev req/s':>13} {'p99 ms':>7} "
              f"{'full req/s':>11} {'p99 ms':>7} {'tarball req/s':>14} {'p99 ms':>7} "
              f"{'load':>5}")
    print(header)
    print("-" * len(header))
    for server, rate, corgi, full, tarballs in results:
        print(f"{server:22} {rate:10.1f} {corgi.rps:13.0f} {corgi.p99_ms:7.1f} "
              f"{full.rps:11.0f} {full.p99_ms:7.1f} {tarballs.rps:14.0f} "
              f"{tarballs.p99_ms:7.1f} {full.load:5.2f}")
    (_, _, vc, vf, vt), (_, _, rc, rf, rt) = results
    print(f"tarball downloads, vouch / verdaccio: {vt.rps / rt.rps:.1f}x")
    for label, ours, theirs in (("abbreviated", vc, rc), ("full", vf, rf)):
        ratio = ours.rps / theirs.rps
        print(f"{label} packument reads, vouch / verdaccio: {ratio:.1f}x "
              f"(target 10x: {'pass' if ratio >= 10 else 'MISS'})")
    return 0


if __name__ == "__main__":
    sys.exit(main_wrapper(main))
