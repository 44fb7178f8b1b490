"""Registry benchmark: publish throughput, metadata reads and artifact downloads over HTTP.

    .venv/bin/python bench/bench_registry.py
    .venv/bin/python bench/bench_registry.py --packages 1000 --duration 10 --workers 2

Starts the real server (`vouch serve`) on a free loopback port with a fresh data directory
(SQLite + blob directory, unsigned publishes allowed: development mode), creates an admin
user and token with `vouch admin`, then measures:

1. publish throughput: --packages publishes of a 1 KiB artifact, then --large publishes of a
   10 MiB artifact, from --publish-threads concurrent httpx clients;
2. metadata reads: `wrk` at --connections connections for --duration seconds on
   GET /api/v1/packages/{name}/versions/{version}, a random package on every request;
3. downloads: `wrk` at --download-connections connections on one 10 MiB artifact.

It prints a table of figures next to the targets and the reference registries measured on the
same machine. It is not a test: it asserts nothing beyond every request succeeding. The
server shares the machine's cores with the load generator, as the reference figures did.

Exits 1 when the server does not start or a request fails (the server log is printed), and 2
when `wrk` is missing (publish figures are still printed; install it with
`apt-get install wrk`).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._server import BenchError, stop_server, tail, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
VOUCH = ROOT / ".venv" / "bin" / "vouch"
KIB = 1024
MIB = 1024 * 1024
SMALL_SIZE = 1 * KIB
LARGE_SIZE = 10 * MIB
VERSION = "1.0.0"
SMALL_NAME = "bench-pkg-{:05d}"
LARGE_NAME = "bench-big-{:03d}"

REFERENCE = {
    "metadata": "Verdaccio 695-762, pypiserver 211-243, devpi 134-231, nginx static 45,000-53,000",
    "download": "nginx 3,609, pypiserver 2,267, Verdaccio 587",
    "publish": "Verdaccio 92, devpi 52, pypiserver 19",
}



# ---- the server under test ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def vouch_env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        VOUCH_DATA_DIR=str(data_dir),
        VOUCH_DEFAULT_SIGNATURE_POLICY="none",
        VOUCH_ENVIRONMENT="development",
        # The project is importable from the checkout even if the editable install is stale.
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    env.pop("VOUCH_DATABASE_URL", None)
    return env


def run_vouch(args: list[str], env: dict[str, str]) -> str:
    """Run one `vouch` command to completion; raises BenchError with its stderr on failure."""
    done = subprocess.run(
        [str(VOUCH), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    if done.returncode != 0:
        raise BenchError(
            f"`vouch {' '.join(args)}` exited {done.returncode}:\n{done.stderr or done.stdout}"
        )
    return done.stdout


def serve_supports_workers(env: dict[str, str]) -> bool:
    return "--workers" in run_vouch(["serve", "--help"], env)


@contextlib.contextmanager
def running_server(data_dir: Path, port: int, workers: int | None, log_path: Path) -> Iterator[str]:
    """Start `vouch serve`, wait for GET /healthz to answer 200, stop it on exit."""
    env = vouch_env(data_dir)
    command = [str(VOUCH), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers is not None:
        if serve_supports_workers(env):
            command += ["--workers", str(workers)]
        else:
            print(f"note: `vouch serve` has no --workers option; ignoring --workers {workers}")
    base = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_healthy(base, process, log_path)
            yield base
        finally:
            stop_server(process)


# ---- publishing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishResult:
    count: int
    seconds: float
    total_bytes: int

    @property
    def per_second(self) -> float:
        return self.count / self.seconds

    @property
    def mb_per_second(self) -> float:
        return self.total_bytes / self.seconds / 1e6


def publish_all(
    base: str, token: str, names: list[str], artifact_for: Callable[[int], bytes], threads: int
) -> PublishResult:
    """Publish `names[i]`@1.0.0 with artifact_for(i) from `threads` clients; all must be 201."""
    headers = {"Authorization": f"Bearer {token}"}
    chunks = [list(range(i, len(names), threads)) for i in range(threads)]

    def worker(indices: list[int]) -> int:
        sent = 0
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            for i in indices:
                body = artifact_for(i)
                answer = client.put(
                    f"/api/v1/packages/{names[i]}/versions/{VERSION}",
                    data={"metadata": json.dumps({"description": f"benchmark package {i}"})},
                    files={"artifact": (f"{names[i]}-{VERSION}.bin", body)},
                )
                if answer.status_code != 201:
                    raise BenchError(
                        f"publish {names[i]}@{VERSION} answered {answer.status_code}: "
                        f"{answer.text[:500]}"
                    )
                sent += len(body)
        return sent

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=threads) as pool:
        total = sum(pool.map(worker, chunks))
    return PublishResult(len(names), time.perf_counter() - started, total)


def small_artifact(i: int) -> bytes:
    stamp = f"bench-pkg-{i:05d}\n".encode()
    return (stamp * (SMALL_SIZE // len(stamp) + 1))[:SMALL_SIZE]


def large_artifacts(count: int) -> list[bytes]:
    """Distinct 10 MiB artifacts (content-addressed storage would dedupe equal ones)."""
    shared = os.urandom(LARGE_SIZE)
    return [i.to_bytes(8, "big") + shared[8:] for i in range(count)]


# ---- wrk ------------------------------------------------------------------------------------

# Every wrk thread has its own Lua state: setup() numbers the threads so each seeds its own
# random sequence, and done() prints the figures as one JSON line for this script to read.
WRK_LUA = """
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  math.randomseed(os.time() * 1000 + (id or 0) * 7919)
  packages = tonumber(args[1])
  template = args[2]
end

function request()
  if packages == nil or packages == 0 then
    return wrk.format("GET", template)
  end
  return wrk.format("GET", string.format(template, math.random(0, packages - 1)))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    total_bytes: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int]
    report: str

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def mb_per_second(self) -> float:
        return self.total_bytes / self.seconds / 1e6


def run_wrk(
    url: str, lua: Path, connections: int, threads: int, duration: int, lua_args: list[str]
) -> WrkResult:
    """Run wrk with the Lua script; raises BenchError if it fails or any request did."""
    command = [
        "wrk",
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(lua),
        url,
        "--",
        *lua_args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
    if done.returncode != 0:
        raise BenchError(f"wrk exited {done.returncode}:\n{done.stderr}{done.stdout}")
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if line is None:
        raise BenchError(f"wrk printed no summary:\n{done.stdout}{done.stderr}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    errors = {k: int(data[k]) for k in ("connect", "read", "write", "status", "timeout")}
    report = "\n".join(ln for ln in done.stdout.splitlines() if not ln.startswith("WRK_JSON"))
    if any(errors.values()):
        raise BenchError(f"wrk saw failed requests {errors} (status = non-2xx/3xx):\n{report}")
    return WrkResult(
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        total_bytes=int(data["bytes"]),
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        errors=errors,
        report=report,
    )


# ---- checks before load -----------------------------------------------------------------------


def check_reads(base: str, packages: int, large: int) -> None:
    """One metadata GET and one download answer as the API promises, before wrk hammers them."""
    with httpx.Client(base_url=base, timeout=30) as client:
        name = SMALL_NAME.format(packages - 1)
        answer = client.get(f"/api/v1/packages/{name}/versions/{VERSION}")
        if answer.status_code != 200:
            raise BenchError(f"GET metadata of {name} answered {answer.status_code}: {answer.text}")
        if large:
            path = f"/api/v1/packages/{LARGE_NAME.format(0)}/versions/{VERSION}/artifact"
            answer = client.get(path)
            if answer.status_code != 200 or len(answer.content) != LARGE_SIZE:
                raise BenchError(
                    f"GET {path} answered {answer.status_code} with {len(answer.content)} bytes"
                )


def warm_metadata(base: str, packages: int) -> float:
    """Read every version document once (the first read of each is a cache miss)."""
    started = time.perf_counter()
    with httpx.Client(base_url=base, timeout=30) as client:
        for i in range(packages):
            answer = client.get(f"/api/v1/packages/{SMALL_NAME.format(i)}/versions/{VERSION}")
            if answer.status_code != 200:
                raise BenchError(f"warm-up GET answered {answer.status_code}: {answer.text}")
    return time.perf_counter() - started


# ---- report ---------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "meets" if ok else "MISSES"


def print_table(rows: list[tuple[str, str, str, str]]) -> None:
    headers = ("measure", "measured", "target", "reference on this machine")
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(3)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers[:3], widths, strict=True))
    print(f"{line}  {headers[3]}")
    print("-" * (len(line) + 2 + len(headers[3])))
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row[:3], widths, strict=True)) + "  " + row[3])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--packages",
        type=int,
        default=1000,
        help="1 KiB packages published (and read by wrk); default 1000",
    )
    parser.add_argument(
        "--large", type=int, default=32, help="10 MiB packages published; default 32"
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run; default 10")
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="passed to `vouch serve --workers` if it supports it",
    )
    parser.add_argument("--publish-threads", type=int, default=8)
    parser.add_argument(
        "--connections", type=int, default=32, help="wrk connections for metadata reads; default 32"
    )
    parser.add_argument("--download-connections", type=int, default=4)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    args = parser.parse_args(argv)
    if args.packages < 1 or args.large < 1:
        parser.error("--packages and --large must be at least 1")

    wrk = shutil.which("wrk")
    if wrk is None:
        print(
            "wrk is NOT installed: metadata and download figures will be missing.\n"
            "Install it with: apt-get update && apt-get install -y wrk",
            file=sys.stderr,
        )

    workdir = Path(tempfile.mkdtemp(prefix="vouch-bench-"))
    data_dir = workdir / "data"
    log_path = workdir / "server.log"
    try:
        return run(args, wrk is not None, workdir, data_dir, log_path)
    except BenchError as err:
        print(f"\nBENCHMARK FAILED: {err}", file=sys.stderr)
        if log_path.exists():
            print(
                f"\n--- last lines of the server log ({log_path}) ---\n{tail(log_path)}",
                file=sys.stderr,
            )
        return 1
    finally:
        if args.keep:
            print(f"data directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def run(
    args: argparse.Namespace, have_wrk: bool, workdir: Path, data_dir: Path, log_path: Path
) -> int:
    env = vouch_env(data_dir)
    run_vouch(["admin", "create-user", "bench", "--admin"], env)
    token = run_vouch(["admin", "create-token", "bench"], env).strip()
    if not token or len(token.split()) != 1:
        raise BenchError(f"`vouch admin create-token` printed {token!r}, expected one token")

    port = free_port()
    with running_server(data_dir, port, args.workers, log_path) as base:
        print(f"server: {base} (data in {data_dir}); {os.cpu_count()} CPUs shared with the load")

        names = [SMALL_NAME.format(i) for i in range(args.packages)]
        small = publish_all(base, token, names, small_artifact, args.publish_threads)
        print(f"published {small.count} x 1 KiB in {small.seconds:.2f}s")

        bodies = large_artifacts(args.large)
        big_names = [LARGE_NAME.format(i) for i in range(args.large)]
        big = publish_all(base, token, big_names, bodies.__getitem__, args.publish_threads)
        del bodies
        print(f"published {big.count} x 10 MiB in {big.seconds:.2f}s")

        check_reads(base, args.packages, args.large)
        warm_seconds = warm_metadata(base, args.packages)
        print(f"warm-up: first read of {args.packages} version documents (cache misses) took "
              f"{warm_seconds:.2f} s ({args.packages / warm_seconds:,.0f} req/s from one client); "
              "wrk then measures the steady state, within VOUCH_METADATA_CACHE_TTL")

        meta: WrkResult | None = None
        download: WrkResult | None = None
        if have_wrk:
            lua = workdir / "bench.lua"
            lua.write_text(textwrap.dedent(WRK_LUA))
            meta_template = f"/api/v1/packages/{SMALL_NAME.replace('{:05d}', '%05d')}"
            meta = run_wrk(
                f"{base}/",
                lua,
                args.connections,
                args.wrk_threads,
                args.duration,
                [str(args.packages), f"{meta_template}/versions/{VERSION}"],
            )
            print(f"\nwrk, metadata, {args.connections} connections:\n{meta.report}")
            artifact = f"/api/v1/packages/{LARGE_NAME.format(0)}/versions/{VERSION}/artifact"
            download = run_wrk(
                f"{base}/",
                lua,
                args.download_connections,
                args.wrk_threads,
                args.duration,
                ["0", artifact],
            )
            print(
                f"\nwrk, 10 MiB download, {args.download_connections} connections:\n"
                f"{download.report}"
            )

    rows = [
        (
            "publish 1 KiB (publishes/s)",
            f"{small.per_second:,.0f}",
            f">= 200 ({verdict(small.per_second >= 200)})",
            REFERENCE["publish"],
        ),
        (
            "publish 10 MiB (publishes/s)",
            f"{big.per_second:,.1f} ({big.mb_per_second:,.0f} MB/s)",
            "-",
            "-",
        ),
    ]
    if meta is not None and download is not None:
        rows += [
            (
                f"metadata GET req/s (c={args.connections})",
                f"{meta.per_second:,.0f}",
                f">= 7,000 ({verdict(meta.per_second >= 7000)})",
                REFERENCE["metadata"],
            ),
            (
                "metadata latency p50 / p99 (ms)",
                f"{meta.p50_ms:.2f} / {meta.p99_ms:.2f}",
                f"p99 < 20 ({verdict(meta.p99_ms < 20)})",
                "-",
            ),
            (
                f"10 MiB download MB/s (c={args.download_connections})",
                f"{download.mb_per_second:,.0f}",
                f">= 2,500 ({verdict(download.mb_per_second >= 2500)})",
                REFERENCE["download"],
            ),
        ]
    else:
        rows += [("metadata GET / download", "n/a: wrk missing", "-", "-")]
    print()
    print_table(rows)
    print("\nMB = 10^6 bytes. Publishes use unsigned artifacts (signature policy none).")
    return 0 if have_wrk else 2


if __name__ == "__main__":
    sys.exit(main())
