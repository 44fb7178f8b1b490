"""Issue 13's table, one command: Vouch on SQLite and PostgreSQL beside nginx, on this machine.

    .venv/bin/python bench/bench_table.py                       # both databases, the anchors
    .venv/bin/python bench/bench_table.py --db sqlite --quick   # a fast look (fewer, shorter)
    .venv/bin/python bench/bench_table.py --profile /tmp/prof   # + py-spy of one worker

Per database: a fresh data directory (and for PostgreSQL a fresh database on 127.0.0.1:5432,
created and dropped here), 1,000 packages x 3 versions of ~1 KiB plus one 10 MiB artifact seeded
through the publish service in process (``bench/_seed.py``: unsigned, policy ``none``,
development mode), then `vouch serve --workers 2` as a real subprocess and:

- idle RSS: the sum over the server's master and worker processes, read from /proc once it
  is up and idle, before any load;
- metadata: ``GET /api/v1/packages/{name}/versions/{version}`` of random versions (warmed by
  discarded runs until the rate stops rising: the steady state);
- small downloads: ``GET .../versions/{version}/artifact`` of random 1 KiB artifacts (one
  discarded run first);
- 10 MiB: ``GET`` of the big artifact (MB/s, 10^6 bytes);
- publishes/s: 1 KiB unsigned publishes from 8 keep-alive clients, then Sigstore-signed ones
  (after 16 of each, not measured: a worker loads sigstore-python with its first bundle)
  (bundles made in advance by the local Sigstore stand-in, ``tests/support/sigstore_local``, whose
  trusted root the server trusts through ``VOUCH_SIGSTORE_TRUST``; a scope-wide trusted publisher
  names the signing workflow; every answer must carry ``signer.method == "sigstore"``), p99 of
  the per-publish latency seen by the clients.

Loads run with `wrk` (32 connections, 2 threads, a Lua script picking a random version per
request; 8 connections for the 10 MiB artifact) or, without wrk, a Python load generator
(threads of keep-alive raw sockets: far weaker than wrk, the figures say which one ran). Each
read figure is the best of ``--rounds`` interleaved rounds. The anchors run where nginx is
installed: Debian's nginx serving the same documents and blobs as static files, and nginx in
front of `vouch serve --workers 2` started with ``VOUCH_ACCEL_REDIRECT_PREFIX=/_blobs/`` as
deploy/nginx configures it (the app answers with ``X-Accel-Redirect``, nginx sends the file).
Every figure carries the 1-minute load average read when it was taken (the machine is shared).

``--profile DIR`` records one worker with py-spy (``.venv/bin/py-spy``, not a project
dependency) during the first round's small downloads and unsigned publishes, and prints the
top frames; the figures of a profiled run are lower (py-spy samples the process).

Exits 0 after printing the table (a missed target is not a failure), 1 when something breaks
(a refused request, a server that does not start), with the server log's tail.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._seed import BIG, SMALL
from bench._server import (
    ROOT,
    BenchError,
    EncodedPublish,
    RawPublisher,
    Workspace,
    authed_client,
    create_token,
    free_port,
    main_wrapper,
    percentile,
    publish_concurrently,
    run_vouch,
    running_server,
    tail,
)

MIB = 1024 * 1024
#: wrk's path of a version document (the package's number, the version's number).
META_TEMPLATE = "/api/v1/packages/" + SMALL.replace("{:05d}", "%05d") + "/versions/1.0.%d"
PG_ADMIN_URL = os.environ.get("VOUCH_BENCH_POSTGRES",
                              "postgresql://postgres@127.0.0.1:5432/postgres")
IDENTITY_REPO, IDENTITY_WORKFLOW = "bench/sig", "release.yml"
TARGETS = {  # issue 13, against nginx measured in the same run
    "small_ratio": 0.1, "small_p99_ms": 20.0, "big_ratio": 0.7, "meta_ratio": 1 / 3,
    "meta_p99_ms": 20.0, "publish_unsigned": 200.0, "publish_sigstore": 100.0,
    "publish_p99_ms": 250.0, "rss_mib": 300.0,
}


def load1() -> float:
    return os.getloadavg()[0]


@dataclass
class Load:
    """One load run: requests/s, MB/s, latency percentiles, the load average when it ended."""

    rps: float
    mbps: float
    p50_ms: float
    p99_ms: float
    requests: int
    load: float
    tool: str
    cpu_us: float | None = None  # server CPU (user+system, process tree) per request

    def better(self, other: Load | None) -> Load:
        return self if other is None or self.rps >= other.rps else other


@dataclass
class Row:
    label: str
    figures: dict[str, str] = field(default_factory=dict)
    raw: dict[str, Load | float] = field(default_factory=dict)


# ---- load generators ------------------------------------------------------------------------

WRK_LUA = """
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  math.randomseed(os.time() * 1000 + (id or 0) * 7919)
  packages = tonumber(args[1]); versions = tonumber(args[2]); template = args[3]
end
function request()
  if packages == 0 then return wrk.format("GET", template) end
  return wrk.format("GET", string.format(template, math.random(0, packages - 1),
                                          math.random(0, versions - 1)))
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "errors": %d}\\n', summary.requests, summary.duration,
    summary.bytes, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


class LoadGen:
    """wrk when installed, else threads of keep-alive sockets (``template`` takes the package
    number and the version number; ``packages`` 0 means the one fixed path)."""

    def __init__(self, workdir: Path, duration: int, connections: int) -> None:
        self.wrk = shutil.which("wrk")
        self.duration = duration
        self.connections = connections
        self.lua = workdir / "random.lua"
        self.lua.write_text(WRK_LUA)

    @property
    def tool(self) -> str:
        return "wrk" if self.wrk else "python"

    def run(self, base: str, template: str, packages: int, versions: int,
            connections: int | None = None, cpu_of: tuple[int, ...] = ()) -> Load:
        """One load run; ``cpu_of``: server pids whose process trees' CPU time is divided by
        the requests answered (a figure the machine's other load barely moves)."""
        conns = connections or self.connections
        before = sum(tree_cpu_seconds(pid) for pid in cpu_of)
        if self.wrk:
            load = self._wrk(base, template, packages, versions, conns)
        else:
            load = self._python(base, template, packages, versions, conns)
        if cpu_of and load.requests:
            spent = sum(tree_cpu_seconds(pid) for pid in cpu_of) - before
            load.cpu_us = spent / load.requests * 1e6
        return load

    def _wrk(self, base: str, template: str, packages: int, versions: int,
             conns: int) -> Load:
        assert self.wrk is not None
        command = [self.wrk, f"-t{min(2, conns)}", f"-c{conns}", f"-d{self.duration}s",
                   "--timeout", "10s", "-s", str(self.lua), base, "--", str(packages),
                   str(versions), template]
        done = subprocess.run(command, capture_output=True, text=True,
                              timeout=self.duration + 60)
        line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
        if done.returncode != 0 or line is None:
            raise BenchError(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        data = json.loads(line.removeprefix("WRK_JSON "))
        if data["errors"]:
            raise BenchError(f"wrk saw {data['errors']} failed requests on {template}:\n"
                             f"{done.stdout}")
        seconds = data["duration_us"] / 1e6
        return Load(rps=data["requests"] / seconds, mbps=data["bytes"] / seconds / 1e6,
                    p50_ms=data["p50_us"] / 1000, p99_ms=data["p99_us"] / 1000,
                    requests=data["requests"], load=load1(), tool="wrk")

    def _python(self, base: str, template: str, packages: int, versions: int,
                conns: int) -> Load:
        host, port = base.removeprefix("http://").split(":")
        stop = time.monotonic() + self.duration
        latencies: list[list[float]] = [[] for _ in range(conns)]
        received = [0] * conns
        errors: list[str] = []

        def client(slot: int) -> None:
            rng = random.Random(slot)
            sock = socket.create_connection((host, int(port)))
            reader = sock.makefile("rb")
            try:
                while time.monotonic() < stop:
                    path = (template if packages == 0 else
                            template % (rng.randrange(packages), rng.randrange(versions)))
                    started = time.perf_counter()
                    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
                    status = reader.readline()
                    length = 0
                    while (line := reader.readline()) not in (b"\r\n", b""):
                        if line.lower().startswith(b"content-length:"):
                            length = int(line.split(b":")[1])
                    body = reader.read(length)
                    latencies[slot].append((time.perf_counter() - started) * 1000)
                    received[slot] += len(body)
                    if b" 200 " not in status:
                        errors.append(f"{path}: {status!r}")
                        return
            finally:
                sock.close()

        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(conns)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
        if errors:
            raise BenchError(f"python load generator: {errors[:3]}")
        flat = [ms for per in latencies for ms in per]
        return Load(rps=len(flat) / seconds, mbps=sum(received) / seconds / 1e6,
                    p50_ms=percentile(flat, 50), p99_ms=percentile(flat, 99),
                    requests=len(flat), load=load1(), tool="python")


# ---- processes --------------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    return children


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its live descendants."""
    children, total, todo = _children(), 0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
        todo.extend(children.get(current, []))
    return total / os.sysconf("SC_CLK_TCK")


def tree_rss_mib(pid: int) -> tuple[float, int]:
    """RSS of ``pid`` and all its descendants (MiB) and how many processes that is."""
    children = _children()
    total, count, todo = 0, 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
                count += 1
        todo.extend(children.get(current, []))
    return total / 1024, count


def server_pid(port: int) -> int:
    """The pid of the `vouch serve` master listening on ``port`` (the oldest python there)."""
    done = subprocess.run(["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True)
    pids = sorted({int(p.split("=")[1]) for p in done.stdout.replace(",", " ").split()
                   if p.startswith("pid=")})
    if not pids:
        raise BenchError(f"no process listens on port {port}: {done.stdout}{done.stderr}")
    # The master owns the listening socket first; workers inherit it: the smallest pid.
    return pids[0]


def worker_pids(master: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == master:
                    cmd = (entry / "cmdline").read_bytes()
                    if b"resource_tracker" not in cmd:
                        found.append(int(entry.name))
    return sorted(found)


@contextlib.contextmanager
def postgres_database(enabled: bool) -> Iterator[str | None]:
    """A fresh database on the shared server, dropped afterwards (never the server itself)."""
    if not enabled:
        yield None
        return
    import psycopg

    name = f"vouch_bench_{os.getpid()}_{int(time.time())}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---- py-spy -----------------------------------------------------------------------------------


@contextlib.contextmanager
def profiled(out: Path | None, pid: int | None, label: str, seconds: int) -> Iterator[None]:
    spy = shutil.which("py-spy") or str(ROOT / ".venv" / "bin" / "py-spy")
    if out is None or pid is None or not Path(spy).exists():
        yield
        return
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{label}.txt"
    process = subprocess.Popen([spy, "record", "-p", str(pid), "-d", str(seconds), "-r", "100",
                                "-f", "raw", "-o", str(target), "--nonblocking"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        try:
            process.wait(timeout=seconds + 30)
        except subprocess.TimeoutExpired:
            process.kill()
        print(f"  profile: {target}")
        if target.exists():
            summarize_profile(target)


def summarize_profile(path: Path, top: int = 25) -> None:
    """Print the share of samples per frame: inclusive (app/ frames) and self (leaf)."""
    inclusive: dict[str, int] = {}
    leaf: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + count
        leaf[frames[-1]] = leaf.get(frames[-1], 0) + count
    if not total:
        return
    print(f"  {total} samples; inclusive, frames of the project:")
    mine = [(n, f) for f, n in inclusive.items()
            if any(part in f for part in ("app/", "signing/", "search/", "starlette/",
                                          "fastapi/", "uvicorn/", "sqlalchemy/orm/session"))]
    for count, frame in sorted(mine, reverse=True)[:top]:
        print(f"    {100 * count / total:5.1f}%  {frame}")
    print("  self (leaf frames):")
    for frame, count in sorted(leaf.items(), key=lambda kv: -kv[1])[:top]:
        print(f"    {100 * count / total:5.1f}%  {frame}")


# ---- one Vouch configuration --------------------------------------------------------------------


def seed(ws: Workspace, packages: int, versions: int) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "_seed.py"), "--packages",
                           str(packages), "--versions", str(versions)], env=ws.env, cwd=ROOT,
                          capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        raise BenchError(f"seeding failed:\n{done.stderr[-3000:]}")
    return done.stdout.strip().splitlines()[-1]


def warm_and_export(base: str, packages: int, versions: int, static: Path | None) -> None:
    """Read every version document once (fills the cache); with ``static``, also write them,
    and the artifacts, as the files the nginx anchor serves at the same paths."""
    with httpx.Client(base_url=base, timeout=30) as client:
        for i in range(packages):
            for v in range(versions):
                path = f"/api/v1/packages/{SMALL.format(i)}/versions/1.0.{v}"
                answer = client.get(path)
                if answer.status_code != 200:
                    raise BenchError(f"GET {path}: {answer.status_code} {answer.text[:300]}")
                if static is not None:
                    target = static / path.lstrip("/") / "index.json"
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(answer.content)
                    artifact = client.get(path + "/artifact")
                    (static / path.lstrip("/") / "artifact").write_bytes(artifact.content)
        if static is not None:
            path = f"/api/v1/packages/{BIG}/versions/1.0.0"
            (static / path.lstrip("/")).mkdir(parents=True, exist_ok=True)
            (static / path.lstrip("/") / "artifact").write_bytes(
                client.get(path + "/artifact").content)


def warm_until_steady(gen: LoadGen, base: str, template: str, packages: int, versions: int,
                      most: int = 5) -> None:
    """Discarded load runs until one is within 10% of the one before (at most ``most``)."""
    before = 0.0
    for _ in range(most):
        rate = gen.run(base, template, packages, versions).rps
        print(f"  warming: {rate:,.0f} req/s")
        if before and rate < before * 1.1:
            return
        before = rate


def setup_sigstore_scope(base: str, token: str, scope: str) -> None:
    with authed_client(base, token) as client:
        answer = client.post("/api/v1/orgs", json={"name": scope})
        if answer.status_code != 201:
            raise BenchError(f"creating org {scope}: {answer.status_code} {answer.text}")
        answer = client.post("/api/v1/trusted-publishers", json={
            "target": f"@{scope}", "repository": IDENTITY_REPO, "workflow": IDENTITY_WORKFLOW})
        if answer.status_code != 201:
            raise BenchError(f"trusted publisher: {answer.status_code} {answer.text}")


def publish_run(base: str, token: str, uploads: list[EncodedPublish], clients: int,
                method: str | None) -> Load:
    started = time.perf_counter()
    times = publish_concurrently(base, token, uploads, clients, method)
    seconds = time.perf_counter() - started
    return Load(rps=len(times) / seconds, mbps=0.0, p50_ms=percentile(times, 50),
                p99_ms=percentile(times, 99), requests=len(times), load=load1(),
                tool=f"{clients} keep-alive clients")


def plain_uploads(label: str, count: int) -> list[EncodedPublish]:
    return [RawPublisher.encode(f"pub-{label}-{i:05d}", "1.0.0", small(f"u{label}", i),
                                filename="artifact.bin") for i in range(count)]


def signed_uploads(instance: object, identity: object, label: str,
                   count: int) -> list[EncodedPublish]:
    """``count`` uploads to the ``@sig`` scope, each with a bundle of the local Sigstore."""
    signed: list[EncodedPublish] = []
    for i in range(count):
        data = small(f"s{label}", i)
        bundle = instance.sign_artifact(data, identity)  # type: ignore[attr-defined]
        signed.append(RawPublisher.encode(
            f"@sig/p-{label}-{i:05d}", "1.0.0", data, filename="artifact.bin",
            evidence={"sigstore_bundle": ("bundle.sigstore.json", bundle,
                                          "application/json")}))
    return signed


def small(scope: str, i: int) -> bytes:
    stamp = f"{scope} publish {i}\n".encode()
    return (stamp * (1024 // len(stamp) + 1))[:1024]


def measure_vouch(db: str, args: argparse.Namespace, gen: LoadGen, instance: object,
                  static: Path | None, anchors: dict[str, Row], *, export: bool) -> Row:
    row = Row(f"Vouch, {'SQLite' if db == 'sqlite' else 'PostgreSQL'}")
    with postgres_database(db == "postgres") as url, Workspace(f"table-{db}",
                                                                keep=args.keep) as ws:
        if url:
            ws.env["VOUCH_DATABASE_URL"] = url
        root = instance.write_trusted_root(ws.path / "trusted_root.json")  # type: ignore[attr-defined]
        ws.env["VOUCH_SIGSTORE_TRUST"] = str(root)
        # Newer `vouch admin` refuses to create a database implicitly: migrate first.
        migrated = run_vouch(["admin", "migrate"], ws.env)
        if migrated.returncode != 0 and "migrate" not in (migrated.stderr + migrated.stdout):
            raise BenchError(f"`vouch admin migrate` failed: {migrated.stderr[-2000:]}")
        token = create_token(ws.env, "bench", "--admin")
        started = time.perf_counter()
        print(f"[{db}] seeding {args.packages} x {args.versions} + 10 MiB: "
              f"{seed(ws, args.packages, args.versions)} ({time.perf_counter() - started:.1f} s)")
        with running_server(ws, workers=2) as base:
            port = int(base.rsplit(":", 1)[1])
            master = server_pid(port)
            time.sleep(args.idle)
            rss, procs = tree_rss_mib(master)
            row.raw["rss"] = rss
            row.figures["rss"] = f"{rss:.0f} MiB ({procs} procs, load {load1():.1f})"
            print(f"[{db}] idle RSS {rss:.0f} MiB over {procs} processes")
            warm_and_export(base, args.packages, args.versions, static if export else None)
            # The exported downloads are counted: their flush (every 2 s) raises those
            # packages' read generations, which makes every document cached so far stale.
            # Wait for it, then fill both workers' caches (one keep-alive client reaches one
            # worker) with discarded load runs: the figures are the steady state. On
            # PostgreSQL a cold document costs a routed render of several round trips, so
            # 3,000 documents per worker take 10-15 s of load to fill: runs repeat until the
            # rate stops rising (within 10% of the run before).
            # The 1 KiB bodies too (each worker keeps the bytes it served in memory): one
            # discarded run of downloads first, then its flush, then the documents.
            time.sleep(3)
            gen.run(base, META_TEMPLATE + "/artifact", args.packages, args.versions)
            time.sleep(3)
            warm_until_steady(gen, base, META_TEMPLATE, args.packages, args.versions)
            workers = worker_pids(master)
            spy_pid = workers[0] if workers else master
            best: dict[str, Load | None] = {"meta": None, "small": None, "big": None}
            for rnd in range(args.rounds):
                if rnd:
                    # The last round's downloads (and the X-Accel anchor's, on the same
                    # database) were counted: their flush made every document stale again.
                    # Each round measures the same steady state as the first.
                    time.sleep(3)
                    warm_until_steady(gen, base, META_TEMPLATE, args.packages, args.versions)
                this: dict[str, Load] = {}
                with profiled(args.profile if rnd == 0 else None, spy_pid, f"{db}-metadata",
                              gen.duration):
                    this["meta"] = gen.run(base, META_TEMPLATE, args.packages, args.versions,
                                           cpu_of=(master,))
                with profiled(args.profile if rnd == 0 else None, spy_pid,
                              f"{db}-small-downloads", gen.duration):
                    this["small"] = gen.run(base, META_TEMPLATE + "/artifact", args.packages,
                                            args.versions, cpu_of=(master,))
                this["big"] = gen.run(base, f"/api/v1/packages/{BIG}/versions/1.0.0/artifact",
                                      0, 1, connections=args.big_connections,
                                      cpu_of=(master,))
                for key, load in this.items():
                    best[key] = load.better(best[key])
                # This round's own figures (the table keeps the best of the rounds).
                print(f"[{db}] round {rnd + 1}: " + ", ".join(
                    f"{k} {v.rps:,.0f} req/s p99 {v.p99_ms:.1f} ms" for k, v in this.items()))
                if static is not None:
                    run_anchor_round(args, gen, static, anchors, ws, base)
            row.raw.update({k: v for k, v in best.items() if v})
            if args.reads_only:
                return row
            # Publishes: unsigned, then Sigstore; distinct names each round.
            setup_sigstore_scope(base, token, "sig")
            identity = _identity()
            pub: dict[str, Load | None] = {"unsigned": None, "sigstore": None}
            # Not measured: a worker loads sigstore-python with the first bundle it verifies
            # (18 MiB it does not hold while idle, 0.2-0.3 s of one worker's GIL). The warm-up
            # sends each worker its first publishes of both kinds; their latency is printed.
            warm = publish_concurrently(base, token, plain_uploads("warm", 16), 8, None)
            warm_signed = publish_concurrently(base, token, signed_uploads(
                instance, identity, "warm", 16), 8, "sigstore")
            print(f"[{db}] warm-up publishes (the first of each worker, not measured): "
                  f"unsigned max {max(warm):.0f} ms, Sigstore max {max(warm_signed):.0f} ms")
            for rnd in range(args.rounds):
                plain = plain_uploads(str(rnd), args.publishes)
                signed = signed_uploads(instance, identity, str(rnd), args.publishes)
                runs: dict[str, Load] = {}
                with profiled(args.profile if rnd == 0 else None, spy_pid,
                              f"{db}-publish-unsigned", max(3, args.publishes // 60)):
                    runs["unsigned"] = publish_run(base, token, plain, 8, None)
                runs["sigstore"] = publish_run(base, token, signed, 8, "sigstore")
                for key, load in runs.items():
                    pub[key] = load.better(pub[key])
                print(f"[{db}] publish round {rnd + 1}: " + ", ".join(
                    f"{k} {v.rps:,.1f}/s p99 {v.p99_ms:.0f} ms" for k, v in runs.items()))
            row.raw.update({f"pub_{k}": v for k, v in pub.items() if v})
    return row


def _identity() -> object:
    from tests.support.sigstore_local import GitHubIdentity

    return GitHubIdentity(repository=IDENTITY_REPO, workflow=IDENTITY_WORKFLOW)


# ---- nginx anchors ----------------------------------------------------------------------------

NGINX_CONF = """
user root;
worker_processes 2;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
daemon off;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    proxy_max_temp_file_size 0;
    client_max_body_size 100m;
    server {{
        listen 127.0.0.1:{static_port};
        root {static};
        location /api/v1/packages/ {{
            default_type application/json;
            index index.json;
            try_files $uri $uri/index.json =404;
        }}
        location /put/ {{
            root {dir};
            dav_methods PUT;
            create_full_put_path on;
        }}
    }}
    {proxy}
}}
"""

PROXY_SERVER = """
    upstream vouch_app {{
        server 127.0.0.1:{app_port};
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{proxy_port};
        location /_blobs/ {{
            internal;
            alias {blobs}/;
            sendfile on;
        }}
        location / {{
            proxy_pass http://vouch_app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
        }}
    }}
"""


@contextlib.contextmanager
def nginx(conf_dir: Path, static: Path, proxy: str = "") -> Iterator[tuple[str, int]]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    port = free_port()
    conf_dir.mkdir(parents=True, exist_ok=True)
    (conf_dir / "put").mkdir(exist_ok=True)
    conf = conf_dir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=conf_dir, static_port=port, static=static,
                                      proxy=proxy))
    process = subprocess.Popen([binary, "-c", str(conf), "-p", str(conf_dir)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                raise BenchError(f"nginx exited: {process.stderr.read().decode()[-2000:]}"  # type: ignore[union-attr]
                                 f"{tail(conf_dir / 'error.log')}")
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            if time.monotonic() > deadline:
                raise BenchError("nginx did not listen")
            time.sleep(0.1)
        yield base, process.pid
    finally:
        os.killpg(process.pid, signal.SIGQUIT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def nginx_put_run(base: str, count: int, clients: int) -> Load:
    uploads = [(f"/put/p-{i:05d}", small("n", i)) for i in range(count)]

    def worker(chunk: list[tuple[str, bytes]]) -> list[float]:
        times = []
        with httpx.Client(base_url=base, timeout=60) as client:
            for path, data in chunk:
                started = time.perf_counter()
                answer = client.put(path, content=data)
                if answer.status_code not in (201, 204):
                    raise BenchError(f"nginx PUT {path}: {answer.status_code}")
                times.append((time.perf_counter() - started) * 1000)
        return times

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        times = [t for c in pool.map(worker, [uploads[i::clients] for i in range(clients)])
                 for t in c]
    seconds = time.perf_counter() - started
    return Load(len(times) / seconds, 0.0, percentile(times, 50), percentile(times, 99),
                len(times), load1(), f"{clients} httpx clients")


def run_anchor_round(args: argparse.Namespace, gen: LoadGen, static: Path,
                     anchors: dict[str, Row], ws: Workspace, vouch_base: str) -> None:
    """One round of the anchors, interleaved with Vouch's rounds: static nginx, and nginx in
    front of a second `vouch serve --workers 2` that answers downloads with X-Accel-Redirect."""
    if args.no_anchors:
        return
    big = f"/api/v1/packages/{BIG}/versions/1.0.0/artifact"
    static_row = anchors.setdefault("static", Row("nginx, static files (ceiling)"))
    this: dict[str, Load] = {}
    with nginx(ws.path / "nginx-static", static) as (base, pid):
        time.sleep(0.5)
        if "rss" not in static_row.raw:
            rss, procs = tree_rss_mib(pid)
            static_row.raw["rss"] = rss
            static_row.figures["rss"] = f"{rss:.0f} MiB ({procs} procs, load {load1():.1f})"
        for key, template, n, v, conns in (
                ("meta", META_TEMPLATE, args.packages, args.versions, None),
                ("small", META_TEMPLATE + "/artifact", args.packages, args.versions, None),
                ("big", big, 0, 1, args.big_connections)):
            this[key] = gen.run(base, template, n, v, connections=conns, cpu_of=(pid,))
        if not args.reads_only:
            this["pub_unsigned"] = nginx_put_run(base, args.publishes, 8)
    for key, load in this.items():
        static_row.raw[key] = load.better(static_row.raw.get(key))  # type: ignore[arg-type]
    print("[anchor] nginx static: " + ", ".join(
        f"{k} {v.rps:,.0f}/s" for k, v in this.items()))
    this = {}
    # nginx + vouch with X-Accel-Redirect, on this workspace's data (same database and blobs).
    on_pg = bool(ws.env.get("VOUCH_DATABASE_URL"))
    accel_row = anchors.setdefault("accel-" + ("pg" if on_pg else "sq"), Row(
        "nginx + Vouch (X-Accel-Redirect), " + ("PostgreSQL" if on_pg else "SQLite")))
    with running_server(ws, workers=2, extra_env={
            "VOUCH_ACCEL_REDIRECT_PREFIX": "/_blobs/"}) as app_base:
        proxy = PROXY_SERVER.format(app_port=app_base.rsplit(":", 1)[1], proxy_port="{port}",
                                    blobs=ws.data_dir / "blobs")
        proxy_port = free_port()
        proxy = proxy.replace("{port}", str(proxy_port))
        app_master = server_pid(int(app_base.rsplit(":", 1)[1]))
        with nginx(ws.path / "nginx-proxy", static, proxy) as (_, proxy_pid):
            base = f"http://127.0.0.1:{proxy_port}"
            check = httpx.get(base + big, timeout=30)
            if check.status_code != 200 or len(check.content) != 10 * MIB:
                raise BenchError(f"X-Accel download: {check.status_code}, "
                                 f"{len(check.content)} bytes")
            for key, template, n, v, conns in (("small", META_TEMPLATE + "/artifact", args.packages,
                                                args.versions, None),
                                               ("big", big, 0, 1, args.big_connections)):
                this[key] = gen.run(base, template, n, v, connections=conns,
                                    cpu_of=(app_master, proxy_pid))
    for key, load in this.items():
        accel_row.raw[key] = load.better(accel_row.raw.get(key))  # type: ignore[arg-type]
    print(f"[anchor] {accel_row.label}: " + ", ".join(
        f"{k} {v.rps:,.0f}/s" for k, v in this.items()))


# ---- the table ----------------------------------------------------------------------------------


def fmt_rps(load: object, mb: bool = False) -> str:
    if not isinstance(load, Load):
        return "-"
    cpu = f"; {load.cpu_us:,.0f} µs CPU/req" if load.cpu_us is not None else ""
    if mb:
        return f"{load.mbps:,.0f} MB/s (p99 {load.p99_ms:.0f} ms; load {load.load:.1f}{cpu})"
    return f"{load.rps:,.0f} (p99 {load.p99_ms:.1f} ms; load {load.load:.1f}{cpu})"


def print_table(rows: list[Row], anchors: dict[str, Row], gen: LoadGen,
                args: argparse.Namespace) -> None:
    columns = ("", "metadata req/s", "1 KiB download req/s", "10 MiB MB/s",
               "publishes/s unsigned", "publishes/s Sigstore", "idle RSS")
    lines = []
    for row in [*anchors.values(), *rows]:
        r = row.raw
        lines.append((row.label, fmt_rps(r.get("meta")), fmt_rps(r.get("small")),
                      fmt_rps(r.get("big"), mb=True), fmt_rps(r.get("pub_unsigned")),
                      fmt_rps(r.get("pub_sigstore")), row.figures.get("rss", "-")))
    print("\n| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for line in lines:
        print("| " + " | ".join(line) + " |")
    static = anchors.get("static")
    print(f"\nload generator: {gen.tool} ({args.connections} connections; 10 MiB: "
          f"{args.big_connections}); best of {args.rounds} round(s) of {args.duration} s; "
          f"{args.packages} x {args.versions} packages; publishes: {args.publishes} per round "
          f"from 8 clients; {os.cpu_count()} CPUs, load now {load1():.2f}")
    print("\ntargets (issue 13):")
    for row in rows:
        r = row.raw

        def ok(flag: bool) -> str:
            return "pass" if flag else "MISS"

        checks = []
        if static is not None:
            for key, ratio, p99 in (("small", TARGETS["small_ratio"], TARGETS["small_p99_ms"]),
                                    ("meta", TARGETS["meta_ratio"], TARGETS["meta_p99_ms"])):
                mine, ceil = r.get(key), static.raw.get(key)
                if isinstance(mine, Load) and isinstance(ceil, Load):
                    cpu = (f", CPU/req {mine.cpu_us / ceil.cpu_us:.1f} x nginx's"
                           if mine.cpu_us and ceil.cpu_us else "")
                    checks.append(f"{key} {mine.rps / ceil.rps:.3f} x nginx "
                                  f"(>= {ratio:.3f}) {ok(mine.rps >= ratio * ceil.rps)}, "
                                  f"p99 {mine.p99_ms:.1f} ms {ok(mine.p99_ms < p99)}{cpu}")
            mine, ceil = r.get("big"), static.raw.get("big")
            accel = anchors.get("accel-" + ("pg" if "Postgre" in row.label else "sq"))
            if isinstance(mine, Load) and isinstance(ceil, Load):
                text = f"10 MiB {mine.mbps / ceil.mbps:.2f} x nginx " \
                       f"{ok(mine.mbps >= TARGETS['big_ratio'] * ceil.mbps)}"
                via = accel.raw.get("big") if accel else None
                if isinstance(via, Load):
                    text += f" (via X-Accel {via.mbps / ceil.mbps:.2f} x " \
                            f"{ok(via.mbps >= TARGETS['big_ratio'] * ceil.mbps)})"
                checks.append(text)
        for key, target in (("pub_unsigned", TARGETS["publish_unsigned"]),
                            ("pub_sigstore", TARGETS["publish_sigstore"])):
            mine = r.get(key)
            if isinstance(mine, Load):
                checks.append(f"{key} {mine.rps:.0f}/s {ok(mine.rps >= target)}, p99 "
                              f"{mine.p99_ms:.0f} ms {ok(mine.p99_ms < TARGETS['publish_p99_ms'])}")
        rss = r.get("rss")
        if isinstance(rss, float):
            checks.append(f"RSS {rss:.0f} MiB {ok(rss <= TARGETS['rss_mib'])}")
        print(f"- {row.label}: " + "; ".join(checks))


def run(args: argparse.Namespace) -> int:
    from tests.support.sigstore_local import SigstoreInstance

    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        print("nginx is not installed: no anchors")
        args.no_anchors = True
    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    instance = SigstoreInstance.create()
    rows: list[Row] = []
    anchors: dict[str, Row] = {}
    with Workspace("table-static", keep=args.keep) as shared:
        gen = LoadGen(shared.path, args.duration, args.connections)
        if gen.tool != "wrk":
            print("wrk is not installed: using the Python load generator (much weaker; install "
                  "wrk with `apt-get install -y --no-install-recommends wrk`)")
        static = None if args.no_anchors else shared.path / "static"
        for n, db in enumerate(dbs):
            # The static tree is exported once, from the first database's documents; the
            # static anchor runs again beside every database's rounds (best of all).
            rows.append(measure_vouch(db, args, gen, instance, static, anchors,
                                      export=n == 0))
        print_table(rows, anchors, gen, args)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--quick", action="store_true",
                        help="200 x 3 packages, 5 s runs, 1 round, 200 publishes")
    parser.add_argument("--packages", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per load run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--big-connections", type=int, default=8)
    parser.add_argument("--publishes", type=int, default=400, help="per mode and round")
    parser.add_argument("--idle", type=float, default=5.0,
                        help="seconds the server idles before its RSS is read")
    parser.add_argument("--no-anchors", action="store_true", help="skip nginx")
    parser.add_argument("--reads-only", action="store_true",
                        help="metadata, downloads and memory only (no publish columns)")
    parser.add_argument("--profile", type=Path, default=None,
                        help="record one worker with py-spy into this directory")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directories")
    args = parser.parse_args(argv)
    if args.quick:
        args.packages, args.duration, args.rounds, args.publishes = 200, 5, 1, 200
    return main_wrapper(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
