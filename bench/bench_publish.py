"""Publish throughput and where its CPU goes: issue 13's publish targets, one command.

    .venv/bin/python bench/bench_publish.py                          # SQLite and PostgreSQL
    .venv/bin/python bench/bench_publish.py --db sqlite --modes unsigned,sigstore
    .venv/bin/python bench/bench_publish.py --profile /tmp/prof      # + py-spy of every worker

Per database: a fresh data directory (for PostgreSQL also a fresh database on 127.0.0.1:5432,
``VOUCH_BENCH_POSTGRES`` names the server; created and dropped here), `vouch admin migrate`, an
admin user and token, then `vouch serve --workers 2` (``--workers``) as a real subprocess in
development mode with ``VOUCH_DEFAULT_SIGNATURE_POLICY=none`` (so unsigned publishes are
accepted; signed ones are verified exactly as in production). Per mode, in its own ``@scope``:

- ``unsigned``: 1 KiB artifacts, no signature;
- ``sigstore``: a bundle per artifact from the local Sigstore stand-in
  (``tests.support.sigstore_local``), whose trusted root the server trusts through
  ``VOUCH_SIGSTORE_TRUST``; a scope-wide trusted publisher names the signing workflow. Verified
  offline: ``VOUCH_REKOR_MODE`` stays ``off`` (the default), no online log lookup;
- ``gpg``: an armored detached signature by an Ed25519 key made by the real `gpg` and
  registered with ``POST /api/v1/gpg-keys`` (possession proven by a signed challenge).

Everything is signed before the clock starts. ``--publishes`` distinct packages per mode go
from ``--clients`` keep-alive connections (default 8; ``RawPublisher``: bodies encoded before
the clock starts, one send and one read each); every answer must be 201 with the
expected ``signer.method``. Figures per mode: publishes/s, client-side latency p50/p99, and
**server CPU per publish**: utime+stime of the server's whole process tree (master and
workers) from /proc, read before the run and again once the server has gone quiet after it,
so the deferred work a publish causes (the outbox worker's search re-index) is counted too.
CPU ms per publish is the steadier figure on a shared machine; throughput and p99 move with
the load average, printed beside every row.

``--profile DIR`` runs py-spy (``.venv/bin/pip install py-spy``; not a project dependency)
on every worker during each mode (100 Hz, idle threads excluded, raw stacks in DIR) and
prints the share of samples per publish step, scaled to CPU ms per publish with the /proc
figure, plus the hottest frames. Profiled runs are slower; take throughput from an
unprofiled run.

Exits 0 after printing the figures (a missed target is not a failure), 1 when something
breaks, with the server log's tail.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._server import (
    ROOT,
    VOUCH,
    BenchError,
    EncodedPublish,
    RawPublisher,
    Workspace,
    authed_client,
    check_vouch,
    create_token,
    free_port,
    main_wrapper,
    median,
    percentile,
    publish_concurrently,
    stop_server,
    wait_healthy,
)

PG_ADMIN_URL = os.environ.get("VOUCH_BENCH_POSTGRES",
                              "postgresql://postgres@127.0.0.1:5432/postgres")
TARGETS = {"unsigned": 200.0, "sigstore": 100.0}
P99_TARGET_MS = 250.0
REPOSITORY, WORKFLOW = "bench/publish", "release.yml"
CLK_TCK = os.sysconf("SC_CLK_TCK")
Evidence = dict[str, tuple[str, bytes, str]]


@dataclass(frozen=True)
class Result:
    db: str
    mode: str
    count: int
    seconds: float
    latencies_ms: list[float]
    cpu_ms: float  # server process tree, whole run incl. deferred work
    db_cpu_ms: float | None  # PostgreSQL backends of the bench database (None: SQLite)
    load: float
    client_cpu_ms: float = 0.0  # this process (the 8 clients) during the timed run

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    @property
    def cpu_per_publish(self) -> float:
        return self.cpu_ms / self.count

    @property
    def client_cpu_per_publish(self) -> float:
        return self.client_cpu_ms / self.count

    @property
    def db_cpu_per_publish(self) -> float | None:
        return None if self.db_cpu_ms is None else self.db_cpu_ms / self.count


# ---- the server and its processes ---------------------------------------------------------------


@contextlib.contextmanager
def server(ws: Workspace, workers: int) -> Iterator[tuple[str, int]]:
    """`vouch serve --workers N` on a free port: yields (base URL, master pid)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with ws.log_path.open("ab") as log:
        process = subprocess.Popen(
            [str(VOUCH), "serve", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(workers)], env=ws.env, cwd=ROOT, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_healthy(base, process, ws.log_path)
            yield base, process.pid
        finally:
            stop_server(process)


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
    return children


def tree(pid: int) -> list[int]:
    children, found, todo = _children(), [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def workers_of(master: int) -> list[int]:
    """The uvicorn workers: children of the master that are not multiprocessing helpers."""
    found = []
    for pid in _children().get(master, []):
        with contextlib.suppress(OSError):
            if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(pid)
    return sorted(found)


def cpu_ms(pid: int) -> float:
    """utime+stime (ms) of ``pid`` and its live descendants."""
    total = 0
    for current in tree(pid):
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            # utime, stime, and the reaped children's (gpg): fields 14-17 of proc(5)
            total += sum(int(f) for f in fields[11:15])
    return total * 1000 / CLK_TCK


def postgres_cpu_ms(database: str | None) -> float | None:
    """utime+stime (ms) of the PostgreSQL backends serving ``database`` (their process title
    names it), or None for SQLite. Backends live as long as the pooled connections."""
    if database is None:
        return None
    total, needle = 0, f" {database} ".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if needle in (entry / "cmdline").read_bytes().replace(b"\0", b" "):
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                    total += int(fields[11]) + int(fields[12])
    return total * 1000 / CLK_TCK


def settle(pid: int, quiet_ms: float = 10.0, step: float = 0.5, limit: float = 30.0) -> None:
    """Wait until the server tree burns less than ``quiet_ms`` of CPU per ``step`` (the
    outbox worker has re-indexed what the run enqueued)."""
    deadline = time.monotonic() + limit
    last = cpu_ms(pid)
    while time.monotonic() < deadline:
        time.sleep(step)
        now = cpu_ms(pid)
        if now - last < quiet_ms:
            return
        last = now


def load1() -> float:
    return os.getloadavg()[0]


@contextlib.contextmanager
def postgres_database(enabled: bool) -> Iterator[str | None]:
    if not enabled:
        yield None
        return
    import psycopg

    name = f"vouch_bench_publish_{os.getpid()}_{int(time.time())}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---- the uploads ------------------------------------------------------------------------------


def artifact(label: str, i: int) -> bytes:
    stamp = f"{label} artifact {i}\n".encode()
    return (stamp * (1024 // len(stamp) + 1))[:1024]


def make_uploads(scope: str, count: int, sign: Callable[[bytes], Evidence]
                 ) -> list[EncodedPublish]:
    out = []
    for i in range(count):
        data = artifact(scope, i)
        out.append(RawPublisher.encode(f"@{scope}/p-{i:05d}", "1.0.0", data,
                                       evidence=sign(data), filename="artifact.tgz"))
    return out


def setup_scope(base: str, token: str, scope: str, *, trusted_publisher: bool) -> None:
    with authed_client(base, token) as client:
        answer = client.post("/api/v1/orgs", json={"name": scope})
        if answer.status_code != 201:
            raise BenchError(f"creating org {scope}: {answer.status_code} {answer.text}")
        if trusted_publisher:
            answer = client.post("/api/v1/trusted-publishers", json={
                "target": f"@{scope}", "repository": REPOSITORY, "workflow": WORKFLOW})
            if answer.status_code != 201:
                raise BenchError(f"trusted publisher: {answer.status_code} {answer.text}")


def register_gpg_key(base: str, token: str, ring: object) -> Callable[[bytes], Evidence]:
    key = ring.make("Vouch Bench <bench@example.test>")  # type: ignore[attr-defined]
    with authed_client(base, token) as client:
        challenge = client.get("/api/v1/gpg-keys/challenge").json()["challenge"]
        answer = client.post("/api/v1/gpg-keys", json={
            "armored": key.public, "challenge": challenge,
            "signature": ring.sign(key.fingerprint, challenge.encode()).decode()})  # type: ignore[attr-defined]
        if answer.status_code != 201:
            raise BenchError(f"gpg key registration: {answer.status_code} {answer.text}")

    def sign(data: bytes) -> Evidence:
        signature = ring.sign(key.fingerprint, data)  # type: ignore[attr-defined]
        return {"gpg_signature": ("artifact.asc", signature, "application/pgp-signature")}

    return sign


# ---- py-spy -------------------------------------------------------------------------------------

#: Publish steps: the first label (in this order) one of whose needles a stack contains.
BUCKETS: list[tuple[str, tuple[str, ...]]] = [
    ("outbox worker: search re-index, claim, settle", ("app/core/worker.py",)),
    ("signature check (no session held)", ("prepare_sigstore.<locals>.verify",
                                           "prepare_gpg.<locals>.verify")),
    ("write transaction (_record)", ("PublishService._record",)),
    ("blob store put_file (copy, fsync, link)", ("FilesystemBlobStore.put_file",)),
    ("staging (temp file, digests)", ("app/publishing/staging.py",)),
    ("failed-publish cleanup", ("PublishService._discard_blob",)),
    ("read transaction (authorize, checks, policy)", ("PublishService.publish_staged",
                                                      "PublishService.publish ")),
    ("response document (second session)", ("build_version_document",
                                            "publish_version.<locals>.document")),
    ("authentication (token lookup)", ("TokenGate._lookup",)),
    ("multipart parsing, form fields", ("formparsers", "multipart", "_read_small")),
    ("HTTP, routing, middleware", ("uvicorn/", "starlette/", "fastapi/", "h11", "httptools",
                                   "app/core/limits", "app/main")),
]
#: Leaf frames of threads that wait (py-spy may count a thread blocked in them as active).
WAITING = ("Runner.run (asyncio", "Condition.wait (", "_PollLikeSelector.select",
           "WorkerThread.run (anyio", "BaseSelectorEventLoop.select", "Event.wait (",
           "Thread._wait_for_tstate_lock")


def bucket_of(frames: list[str]) -> str:
    if frames and frames[-1].startswith(WAITING):
        return WAIT_LABEL
    for label, needles in BUCKETS:
        if any(n in frame for frame in frames for n in needles):
            return label
    return "other (threads, GC, logging)"


WAIT_LABEL = "waiting (event loop idle, thread hand-offs)"


@contextlib.contextmanager
def profiled(out: Path | None, pids: list[int], label: str,
             gil: bool = False, rate: int = 100) -> Iterator[list[Path]]:
    spy = shutil.which("py-spy") or str(ROOT / ".venv" / "bin" / "py-spy")
    files: list[Path] = []
    if out is None or not Path(spy).exists():
        yield files
        return
    out.mkdir(parents=True, exist_ok=True)
    procs = []
    for pid in pids:
        target = out / f"{label}-{pid}.txt"
        files.append(target)
        procs.append(subprocess.Popen(
            [spy, "record", "-p", str(pid), "-r", str(rate), "-f", "raw", "-o", str(target),
             "--nonblocking", *(["--gil"] if gil else [])],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(1.0)  # py-spy attaches
    try:
        yield files
    finally:
        for proc in procs:
            proc.send_signal(2)  # SIGINT: py-spy writes what it has
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def summarize(files: list[Path], cpu_per_publish: float, top: int = 30) -> None:
    buckets: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    leaf: dict[str, int] = {}
    total = 0
    for path in files:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not count_text.isdigit():
                continue
            count = int(count_text)
            frames = stack.split(";")
            total += count
            label = bucket_of(frames)
            buckets[label] = buckets.get(label, 0) + count
            for frame in set(frames):
                inclusive[frame] = inclusive.get(frame, 0) + count
            leaf[frames[-1]] = leaf.get(frames[-1], 0) + count
    if not total:
        print("    (no samples)")
        return
    busy = total - buckets.get(WAIT_LABEL, 0)
    print(f"    {total} samples (non-idle threads, all workers), {busy} not waiting; by step, "
          f"the busy samples scaled to {cpu_per_publish:.1f} CPU ms per publish:")
    for label, count in sorted(buckets.items(), key=lambda kv: -kv[1]):
        if label == WAIT_LABEL:
            print(f"      {100 * count / total:5.1f}%     -     {label}")
            continue
        share = count / busy
        print(f"      {100 * count / total:5.1f}%  {share * cpu_per_publish:5.2f} ms  {label}")
    print("    hottest frames (inclusive), project and framework:")
    mine = [(n, f) for f, n in inclusive.items()
            if any(p in f for p in ("app/", "signing/", "search/", "starlette/", "sqlalchemy/",
                                    "sqlmodel/", "pydantic", "fastapi/", "uvicorn/"))]
    for count, frame in sorted(mine, reverse=True)[:top]:
        print(f"      {100 * count / total:5.1f}%  {frame}")
    print("    self (leaf frames):")
    for frame, count in sorted(leaf.items(), key=lambda kv: -kv[1])[:top // 2]:
        print(f"      {100 * count / total:5.1f}%  {frame}")


# ---- one database -------------------------------------------------------------------------------


def run_db(db: str, args: argparse.Namespace, instance: object | None) -> list[Result]:
    results: list[Result] = []
    modes = args.modes
    with postgres_database(db == "postgres") as url, Workspace(f"publish-{db}",
                                                                keep=args.keep) as ws:
        dbname = url.rsplit("/", 1)[1] if url else None
        if url:
            ws.env["VOUCH_DATABASE_URL"] = url
        if instance is not None:
            root = instance.write_trusted_root(ws.path / "trusted_root.json")  # type: ignore[attr-defined]
            ws.env["VOUCH_SIGSTORE_TRUST"] = str(root)
        ws.env["VOUCH_REKOR_MODE"] = "off"
        ws.env.update(dict(item.split("=", 1) for item in args.server_env))
        check_vouch(["admin", "migrate"], ws.env)
        token = create_token(ws.env, "bench", "--admin")
        count = args.publishes + args.warmup
        with server(ws, args.workers) as (base, master):
            signers: dict[str, Callable[[bytes], Evidence]] = {"unsigned": lambda _: {}}
            if "sigstore" in modes:
                from tests.support.sigstore_local import GitHubIdentity

                identity = GitHubIdentity(repository=REPOSITORY, workflow=WORKFLOW)

                def sigstore_sign(data: bytes) -> Evidence:
                    bundle = instance.sign_artifact(data, identity)  # type: ignore[attr-defined]
                    return {"sigstore_bundle": ("bundle.sigstore.json", bundle,
                                                "application/json")}

                signers["sigstore"] = sigstore_sign
            ring = None
            if "gpg" in modes:
                from tests.unit.signing.gpg_keys import Keyring

                ring = Keyring()
                signers["gpg"] = register_gpg_key(base, token, ring)
            try:
                plans = {}
                started = time.perf_counter()
                for mode in modes:
                    scope = f"{mode}{db[:2]}"
                    setup_scope(base, token, scope, trusted_publisher=mode == "sigstore")
                    plans[mode] = make_uploads(scope, count, signers[mode])
                print(f"[{db}] signed/prepared {count * len(modes)} uploads in "
                      f"{time.perf_counter() - started:.1f} s (not measured)")
            finally:
                if ring is not None:
                    ring.close()
            workers = workers_of(master)
            for mode in modes:
                method = None if mode == "unsigned" else mode
                items = plans[mode]
                publish_concurrently(base, token, items[:args.warmup], args.clients, method)
                settle(master)
                before, db_before = cpu_ms(master), postgres_cpu_ms(dbname)
                with profiled(args.profile, workers, f"{db}-{mode}", args.gil,
                              args.rate) as files:
                    started, client_before = time.perf_counter(), time.process_time()
                    times = publish_concurrently(base, token, items[args.warmup:], args.clients,
                                        method)
                    seconds = time.perf_counter() - started
                    client_ms = (time.process_time() - client_before) * 1000
                    load = load1()
                    settle(master)
                result = Result(db, mode, len(times), seconds, times,
                                cpu_ms(master) - before, _minus(postgres_cpu_ms(dbname), db_before),
                                load, client_ms)
                results.append(result)
                print(f"[{db}] {mode:<9} {result.rate:6.1f}/s  p50 {median(times):6.1f} ms  "
                      f"p99 {percentile(times, 99):6.1f} ms  server CPU "
                      f"{result.cpu_per_publish:5.1f} ms/publish{_db_note(result)}  "
                      f"clients {result.client_cpu_per_publish:.1f} ms  load {load:.1f}")
                if files:
                    summarize(files, result.cpu_per_publish)
    return results


def _minus(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else after - before


def _db_note(result: Result) -> str:
    per = result.db_cpu_per_publish
    return "" if per is None else f" (+ PostgreSQL {per:.1f} ms)"


def report(results: list[Result], args: argparse.Namespace) -> None:
    print()
    print(f"{'db':<9}{'mode':<10}{'publishes/s':>12}{'target':>8}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'CPU ms/publish':>16}{'PG CPU ms':>10}{'client ms':>10}{'load':>6}")
    for r in results:
        target = TARGETS.get(r.mode)
        p99 = percentile(r.latencies_ms, 99)
        db_cpu = "-" if r.db_cpu_per_publish is None else f"{r.db_cpu_per_publish:.1f}"
        verdict = "" if target is None else (
            " pass" if r.rate >= target and p99 < P99_TARGET_MS else " MISS")
        print(f"{r.db:<9}{r.mode:<10}{r.rate:>12.1f}{(f'{target:.0f}' if target else '-'):>8}"
              f"{median(r.latencies_ms):>9.1f}{p99:>9.1f}{r.cpu_per_publish:>16.1f}"
              f"{db_cpu:>10}{r.client_cpu_per_publish:>10.1f}{r.load:>6.1f}{verdict}")
    print(f"\n1 KiB artifacts, {args.clients} clients, `vouch serve --workers {args.workers}`, "
          f"{args.publishes} publishes per mode after {args.warmup} warm-up; Rekor lookups off "
          f"(offline bundle verification). CPU ms/publish: the server's process tree; PG CPU "
          f"ms: the PostgreSQL backends of the bench database besides; client ms: the load "
          f"generator's own CPU (this process). Targets: >= 200/s "
          f"unsigned, >= 100/s Sigstore, p99 < {P99_TARGET_MS:.0f} ms. {os.cpu_count()} CPUs "
          f"shared with the clients.")


def run(args: argparse.Namespace) -> int:
    instance = None
    if "sigstore" in args.modes:
        from tests.support.sigstore_local import SigstoreInstance

        instance = SigstoreInstance.create()
    results: list[Result] = []
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        results.extend(run_db(db, args, instance))
    report(results, args)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--modes", default="unsigned,sigstore,gpg",
                        help="comma-separated: unsigned, sigstore, gpg")
    parser.add_argument("--publishes", type=int, default=400, help="per mode; default 400")
    parser.add_argument("--warmup", type=int, default=40, help="per mode, not measured")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--server-env", action="append", default=[], metavar="KEY=VALUE",
                        help="an extra environment variable for the server (experiments)")
    parser.add_argument("--profile", type=Path, default=None, metavar="DIR")
    parser.add_argument("--rate", type=int, default=100,
                        help="with --profile: py-spy's samples per second")
    parser.add_argument("--gil", action="store_true",
                        help="with --profile: sample only the thread holding the GIL (Python "
                             "CPU; C code that releases the GIL, e.g. SQLite, is not seen)")
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    args = parser.parse_args(argv)
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = set(args.modes) - {"unsigned", "sigstore", "gpg"}
    if unknown or not args.modes:
        parser.error(f"unknown modes: {sorted(unknown)}")
    if args.publishes < 1 or args.clients < 1 or args.warmup < 0:
        parser.error("--publishes and --clients must be at least 1")
    return main_wrapper(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
