"""Shared plumbing for the HTTP benchmarks: a real `vouch serve` on loopback, users, figures.

    from bench._server import BenchError, Figures, Workspace, create_token, running_server

    with Workspace("lock") as ws:                       # temp dir: data/, server.log, ...
        token = create_token(ws.env, "bench", "--admin")
        with running_server(ws) as base:                # http://127.0.0.1:<free port>
            ...
        figures = Figures()
        figures.add("verify, cold cache (s)", 3.2, "< 10", ok=3.2 < 10)
        figures.print()

The server runs exactly as `bench/bench_registry.py` starts it: `vouch serve` in its own
session with a fresh ``VOUCH_DATA_DIR`` (SQLite + blob directory), development mode and
``VOUCH_DEFAULT_SIGNATURE_POLICY=none`` unless the caller overrides them; users and tokens
come from `vouch admin`. Everything that goes wrong raises `BenchError` with the reason (a
`Workspace` appends the server log's tail on the way out); `main_wrapper` turns it into exit 1.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
VOUCH = ROOT / ".venv" / "bin" / "vouch"


class BenchError(Exception):
    """The server, the client or the load generator misbehaved; the message says how."""


# ---- the workspace and the server -----------------------------------------------------------


class Workspace:
    """A temporary directory holding the server's data, its log and the client's files.

    ``env`` is the server-side environment (also right for `vouch admin`); ``extra_env``
    entries override the defaults (``VOUCH_SIGSTORE_TRUST`` etc.). Removed on exit unless
    ``keep``.
    """

    def __init__(self, label: str, *, keep: bool = False,
                 extra_env: dict[str, str] | None = None) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=f"vouch-bench-{label}-"))
        self.data_dir = self.path / "data"
        self.log_path = self.path / "server.log"
        self.keep = keep
        self.env = server_env(self.data_dir, extra_env or {})

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, kind: object, exc: BaseException | None, trace: object) -> None:
        if isinstance(exc, BenchError) and self.log_path.exists():
            # The directory goes away below: carry the server log's tail in the error.
            exc.args = (f"{exc}\n--- last lines of the server log ---\n{tail(self.log_path)}",)
        if self.keep:
            print(f"workspace kept: {self.path}")
        else:
            shutil.rmtree(self.path, ignore_errors=True)

    def client_env(self, base: str, token: str | None, cache_dir: Path) -> dict[str, str]:
        """Environment for the `vouch` client: this registry, this token, this cache only."""
        env = dict(os.environ)
        env.update(VOUCH_REGISTRY=base, VOUCH_CACHE_DIR=str(cache_dir),
                   VOUCH_CONFIG=str(self.path / "no-client-config.toml"),
                   PYTHONPATH=_pythonpath(env))
        env.pop("VOUCH_TOKEN", None)
        if token:
            env["VOUCH_TOKEN"] = token
        return env


def _pythonpath(env: dict[str, str]) -> str:
    # The project is importable from the checkout even if the editable install is stale.
    return os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))


def server_env(data_dir: Path, extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    for key in [k for k in env if k.startswith("VOUCH_")]:
        del env[key]  # nothing from the caller's shell leaks into the measured server
    env.update(VOUCH_DATA_DIR=str(data_dir), VOUCH_DEFAULT_SIGNATURE_POLICY="none",
               VOUCH_ENVIRONMENT="development", PYTHONPATH=_pythonpath(env))
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_vouch(args: Sequence[str], env: dict[str, str], *, cwd: Path = ROOT,
              timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run one `vouch` command; returns it whatever its exit status (callers judge)."""
    return subprocess.run([str(VOUCH), *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def check_vouch(args: Sequence[str], env: dict[str, str], *, cwd: Path = ROOT,
                timeout: float = 600) -> str:
    """Run one `vouch` command; raises BenchError with its output unless it exits 0."""
    done = run_vouch(args, env, cwd=cwd, timeout=timeout)
    if done.returncode != 0:
        raise BenchError(f"`vouch {' '.join(args)}` exited {done.returncode}:\n"
                         f"{(done.stderr or '')[-3000:]}{(done.stdout or '')[-3000:]}")
    return done.stdout


def create_token(env: dict[str, str], user: str, *roles: str) -> str:
    """`vouch admin create-user USER [--admin|--security]` then `create-token`: the token."""
    check_vouch(["admin", "create-user", user, *roles], env)
    token = check_vouch(["admin", "create-token", user], env).strip()
    if not token or len(token.split()) != 1:
        raise BenchError(f"`vouch admin create-token {user}` printed {token!r}, not one token")
    return token


def cli_startup_seconds(ws: Workspace, runs: int = 3) -> float:
    """The floor under every `vouch` command: the interpreter plus the CLI's imports (median)."""
    env = ws.client_env("http://127.0.0.1:9", None, ws.path / "startup-cache")
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", "import client.cli"], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        samples.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise BenchError(f"importing client.cli failed:\n{done.stderr[-2000:]}")
    return statistics.median(samples)


@contextlib.contextmanager
def running_server(ws: Workspace, *, workers: int | None = None,
                   extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """Start `vouch serve` on a free loopback port, wait for /healthz, stop it on exit.

    ``extra_env`` overrides the workspace's environment for this server only.
    """
    port = free_port()
    command = [str(VOUCH), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if workers is not None:
        command += ["--workers", str(workers)]
    base = f"http://127.0.0.1:{port}"
    with ws.log_path.open("ab") as log:
        process = subprocess.Popen(command, env={**ws.env, **(extra_env or {})}, cwd=ROOT,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_healthy(base, process, ws.log_path)
            yield base
        finally:
            stop_server(process)


def wait_healthy(base: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 120
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"`vouch serve` exited {process.returncode}:\n{tail(log_path)}")
        try:
            answer = httpx.get(f"{base}/healthz", timeout=2)
            if answer.status_code == 200:
                return
            last = f"{answer.status_code} {answer.text[:200]}"
        except httpx.TransportError as err:
            last = repr(err)
        time.sleep(0.2)
    raise BenchError(f"GET /healthz never answered 200 (last: {last}):\n{tail(log_path)}")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    # The server runs in its own session: signal its group so uvicorn workers stop too.
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


# ---- publishing -------------------------------------------------------------------------------


def publish(client: httpx.Client, name: str, version: str, artifact: bytes, *,
            metadata: str = "{}", filename: str | None = None,
            evidence: dict[str, tuple[str, bytes, str]] | None = None) -> httpx.Response:
    """One multipart publish; raises BenchError unless the server answers 201."""
    files: dict[str, tuple[str, bytes, str]] = {
        "artifact": (filename or f"{name.replace('/', '-')}-{version}.bin", artifact,
                     "application/octet-stream")}
    files.update(evidence or {})
    answer = client.put(f"/api/v1/packages/{name}/versions/{version}",
                        data={"metadata": metadata}, files=files)
    if answer.status_code != 201:
        raise BenchError(f"publish {name}@{version} answered {answer.status_code}: "
                         f"{answer.text[:800]}")
    return answer


@dataclass(frozen=True)
class EncodedPublish:
    """A publish request encoded before the clock starts (``RawPublisher.encode``)."""

    name: str
    path: str
    headers: dict[str, str]
    body: bytes


class RawPublisher:
    """Multipart publishes from one keep-alive ``http.client`` connection: the load generator
    for publish throughput. Bodies are encoded beforehand (as signatures are made
    beforehand), so a publish costs the client one send and one read: 0.2-0.4 ms of CPU
    against httpx's 1.4-1.9 ms, CPU the server's cores would otherwise lose to the client
    (the reads' load generator is wrk, in C, for the same reason)."""

    BOUNDARY = "vouch-bench-boundary-7f3a9c"

    def __init__(self, base: str, token: str, timeout: float = 120) -> None:
        url = httpx.URL(base)
        self._conn = http.client.HTTPConnection(url.host, url.port, timeout=timeout)
        self._auth = f"Bearer {token}"

    @classmethod
    def encode(cls, name: str, version: str, artifact: bytes, *, metadata: str = "{}",
               filename: str | None = None,
               evidence: dict[str, tuple[str, bytes, str]] | None = None) -> EncodedPublish:
        files: dict[str, tuple[str, bytes, str]] = {
            "artifact": (filename or f"{name.replace('/', '-')}-{version}.bin", artifact,
                         "application/octet-stream")}
        files.update(evidence or {})
        dash = f"--{cls.BOUNDARY}\r\n".encode()
        parts = [dash, b'Content-Disposition: form-data; name="metadata"\r\n\r\n',
                 metadata.encode(), b"\r\n"]
        for field_name, (file_name, data, content_type) in files.items():
            parts += [dash, f'Content-Disposition: form-data; name="{field_name}"; '
                            f'filename="{file_name}"\r\nContent-Type: {content_type}'
                            "\r\n\r\n".encode(), data, b"\r\n"]
        body = b"".join([*parts, f"--{cls.BOUNDARY}--\r\n".encode()])
        headers = {"Content-Type": f"multipart/form-data; boundary={cls.BOUNDARY}",
                   "Content-Length": str(len(body))}
        return EncodedPublish(name, f"/api/v1/packages/{name}/versions/{version}", headers,
                              body)

    def send(self, request: EncodedPublish) -> dict[str, Any]:
        """The 201 answer's document; raises BenchError on any other status."""
        self._conn.request("PUT", request.path, body=request.body,
                           headers={**request.headers, "Authorization": self._auth})
        answer = self._conn.getresponse()
        body = answer.read()
        if answer.status != 201:
            raise BenchError(f"publish {request.name} answered {answer.status}: "
                             f"{body[:800]!r}")
        document: dict[str, Any] = json.loads(body)
        return document

    def close(self) -> None:
        self._conn.close()


def publish_concurrently(base: str, token: str, items: list[EncodedPublish],
                         clients: int, method: str | None) -> list[float]:
    """``items`` from ``clients`` threads, each with a ``RawPublisher``: the latency of
    each publish in ms. Raises BenchError unless every answer is 201 with ``method`` as its
    signer's method (None: unsigned)."""
    def worker(chunk: list[EncodedPublish]) -> list[float]:
        times = []
        publisher = RawPublisher(base, token)
        try:
            for item in chunk:
                started = time.perf_counter()
                answer = publisher.send(item)
                times.append((time.perf_counter() - started) * 1000)
                signer = answer.get("signer")
                got = signer.get("method") if signer else None
                if got != method:
                    raise BenchError(f"{item.name}: signer {got!r}, expected {method!r}")
        finally:
            publisher.close()
        return times

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        return [t for chunk in pool.map(worker, [items[i::clients] for i in range(clients)])
                for t in chunk]


def authed_client(base: str, token: str, timeout: float = 120) -> httpx.Client:
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                        timeout=timeout)


# ---- figures ----------------------------------------------------------------------------------


def percentile(samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p99 of 1,000 samples is the 990th smallest)."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.4999)))
    return ordered[rank - 1]


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


@dataclass
class Figures:
    """Rows of (figure, measured, target, verdict); ``ok`` None means no target."""

    rows: list[tuple[str, str, str, str]] = field(default_factory=list)

    def add(self, figure: str, measured: str, target: str = "-", ok: bool | None = None) -> None:
        verdict = "-" if ok is None else ("pass" if ok else "MISS")
        self.rows.append((figure, measured, target, verdict))

    def print(self) -> None:
        headers = ("figure", "measured", "target", "pass/miss")
        widths = [max(len(r[i]) for r in [headers, *self.rows]) for i in range(4)]
        line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
        print(line)
        print("-" * len(line))
        for row in self.rows:
            print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def machine_note() -> str:
    """CPU count and load averages, printed beside the figures (the load skews them)."""
    one, five, fifteen = os.getloadavg()
    return (f"machine: {os.cpu_count()} CPUs, load average {one:.2f} {five:.2f} {fifteen:.2f} "
            "(server and load generator share the cores)")


def main_wrapper(run: Callable[[], int]) -> int:
    """Call ``run``; a BenchError prints its reason and exits 1 (a miss is still exit 0)."""
    try:
        return run()
    except BenchError as err:
        print(f"\nBENCHMARK FAILED: {err}", file=sys.stderr)
        return 1
