"""Issue 14's benchmark: the Simple API (`/simple/<name>/`, HTML and JSON) and uploads, Vouch
beside pypiserver and devpi-server, in the same run on this machine.

    python3 -m venv /tmp/pyrefs && /tmp/pyrefs/bin/pip install pypiserver==2.4.2 \\
        devpi-server==6.20.3 passlib                    # once; NOT the project venv
    .venv/bin/python bench/bench_simple.py --refs /tmp/pyrefs
    .venv/bin/python bench/bench_simple.py --refs /tmp/pyrefs --quick    # shorter

Each server gets the same ``--projects`` projects x 3 releases x (wheel + sdist), uploaded
through its own upload API by ``--clients`` keep-alive clients (Vouch: POST /legacy/ with
``__token__``, policy ``none`` as `bench/_server.py` configures it, i.e. unsigned, measuring the
index and storage path, not gpg; pypiserver: POST / with authentication off; devpi: POST to a
fresh ``root/bench`` index as root), which gives uploads/s. Then `wrk` reads random project
pages for ``--duration`` seconds with pip's ``Accept`` (JSON for Vouch and devpi, which speak
PEP 691; pypiserver answers HTML whatever is asked) and with ``Accept: text/html``. Vouch
runs as `vouch serve --workers 2` on SQLite; pypiserver as `pypi-server run --server auto`
(one process); devpi as `devpi-server` (one process, its default threads). The figures are the
best of ``--rounds`` rounds; the 1-minute load average is printed with each (2 shared cores:
server and wrk compete). The issue's target is simple-page reads at least 20x both references.
Each run also downloads random release-1.0 wheels (~1 KiB) as pip does, from the URL the
server's pages link (Vouch ``/pypi/files/...``, pypiserver ``/packages/...``; devpi's links
carry a hash, so it has no figure there), and, from Vouch, their PEP 658 ``.metadata`` files
(pypiserver serves none), which pip reads for each candidate before it chooses one.

Exits 0 after printing the table (a missed target is not a failure), 1 when something breaks.
"""

from __future__ import annotations

import argparse
import base64
import concurrent.futures
import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

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
from tests.support.pydists import build_sdist, build_wheel  # noqa: E402

PIP_ACCEPT = ("application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; "
              "q=0.1, text/html; q=0.01")
HTML_ACCEPT = "text/html"
WHEEL = "proj%d-1.0-py3-none-any.whl"  # build_dists' wheel of release 1.0

WRK_LUA = """
function init(args)
  math.randomseed(os.time() * 1000 + math.random(1, 100000))
  projects = tonumber(args[1]); template = args[2]; accept = args[3]
end
function request()
  local n = math.random(0, projects - 1)
  local path = string.format(template, n, n)  -- a file's template names the project twice
  return wrk.format("GET", path, {["Accept"] = accept})
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK_JSON {"requests": %d, "duration_us": %d, "p99_us": %d, ' ..
    '"errors": %d}\\n', summary.requests, summary.duration, latency:percentile(99),
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


@dataclass
class Reads:
    rps: float
    p99_ms: float
    load: float


def wrk(base: str, template: str, projects: int, accept: str, seconds: int,
        lua: Path) -> Reads:
    binary = shutil.which("wrk")
    if binary is None:
        raise BenchError("wrk is not installed (apt-get install wrk)")
    done = subprocess.run([binary, "-t2", "-c32", f"-d{seconds}s", "--timeout", "10s",
                           "-s", str(lua), base, "--", str(projects), template, accept],
                          capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise BenchError(f"wrk failed:\n{done.stdout}{done.stderr}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    if data["errors"]:
        raise BenchError(f"wrk saw {data['errors']} failed requests on {base}{template}")
    return Reads(data["requests"] / (data["duration_us"] / 1e6), data["p99_us"] / 1000,
                 os.getloadavg()[0])


def build_dists(directory: Path, projects: int) -> list[Path]:
    files: list[Path] = []
    for i in range(projects):
        for minor in range(3):
            version = f"1.{minor}"
            files.append(build_wheel(directory, f"proj{i}", version, requires_python=">=3.8"))
            files.append(build_sdist(directory, f"proj{i}", version))
    return files


def upload_form(path: Path) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]:
    data = path.read_bytes()
    wheel = path.name.endswith(".whl")
    name, version = path.name.split("-")[:2]
    if not wheel:
        version = version.removesuffix(".tar.gz")
    fields = {":action": "file_upload", "protocol_version": "1", "name": name,
              "version": version, "metadata_version": "2.1",
              "filetype": "bdist_wheel" if wheel else "sdist",
              "pyversion": "py3" if wheel else "source",
              "sha256_digest": hashlib.sha256(data).hexdigest(),
              "md5_digest": hashlib.md5(data, usedforsecurity=False).hexdigest()}
    return fields, {"content": (path.name, data, "application/octet-stream")}


def upload_all(url: str, files: list[Path], clients: int,
               headers: dict[str, str]) -> float:
    """Upload every file (sdists and wheels of a project in order); returns uploads/s."""
    batches = [files[i::clients] for i in range(clients)]

    def run(batch: list[Path]) -> None:
        with httpx.Client(headers=headers, timeout=120) as http:
            for path in batch:
                fields, parts = upload_form(path)
                answer = http.post(url, data=fields, files=parts)
                if answer.status_code not in (200, 201):
                    raise BenchError(f"upload of {path.name} to {url}: {answer.status_code} "
                                     f"{answer.text[:300]}")

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(run, batch) for batch in batches]:
            future.result()
    return len(files) / (time.perf_counter() - started)


@contextlib.contextmanager
def process(command: list[str], log: Path, ready: str) -> Iterator[None]:
    with log.open("ab") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            deadline = time.monotonic() + 120
            while True:
                if proc.poll() is not None:
                    raise BenchError(f"{command[0]} exited:\n{log.read_text()[-2000:]}")
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(ready, timeout=2).status_code < 500:
                        break
                if time.monotonic() > deadline:
                    raise BenchError(f"{command[0]} did not start:\n{log.read_text()[-2000:]}")
                time.sleep(0.3)
            yield
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 15)
            proc.wait(timeout=30)


@dataclass
class Result:
    server: str
    uploads: float
    json: Reads | None
    html: Reads
    files: Reads | None = None  # downloads of random 1.0 wheels (~1 KiB), as pip fetches them
    metadata: Reads | None = None  # their PEP 658 metadata, which pip reads before choosing


def measure(server: str, base: str, template: str, projects: int, rounds: int,
            seconds: int, lua: Path, uploads: float, speaks_json: bool,
            files: str | None = None, metadata: bool = False) -> Result:
    best_json: Reads | None = None
    best_html: Reads | None = None
    best_files: Reads | None = None
    best_metadata: Reads | None = None
    for _ in range(rounds):
        if files is not None:
            reads = wrk(base, files, projects, "*/*", seconds, lua)
            best_files = reads if best_files is None or reads.rps > best_files.rps else best_files
        if files is not None and metadata:
            reads = wrk(base, files + ".metadata", projects, "*/*", seconds, lua)
            best_metadata = (reads if best_metadata is None or reads.rps > best_metadata.rps
                             else best_metadata)
        if speaks_json:
            reads = wrk(base, template, projects, PIP_ACCEPT, seconds, lua)
            best_json = reads if best_json is None or reads.rps > best_json.rps else best_json
        reads = wrk(base, template, projects, HTML_ACCEPT, seconds, lua)
        best_html = reads if best_html is None or reads.rps > best_html.rps else best_html
    assert best_html is not None
    return Result(server, uploads, best_json, best_html, best_files, best_metadata)


def run_vouch(args: argparse.Namespace, files: list[Path], lua: Path) -> Result:
    with Workspace("simple") as ws:
        check_vouch(["admin", "migrate"], ws.env)
        token = create_token(ws.env, "bench")
        with running_server(ws, workers=2) as base:
            auth = base64.b64encode(f"__token__:{token}".encode()).decode()
            rate = upload_all(f"{base}/legacy/", files, args.clients,
                              {"Authorization": f"Basic {auth}"})
            check_page(base + "/simple/proj0/", 6)
            return measure("vouch", base, "/simple/proj%d/", args.projects, args.rounds,
                           args.duration, lua, rate, speaks_json=True,
                           files=f"/pypi/files/proj%d/1.0/{WHEEL}", metadata=True)


def run_pypiserver(args: argparse.Namespace, files: list[Path], lua: Path) -> Result:
    refs = Path(args.refs)
    with tempfile.TemporaryDirectory(prefix="bench-pypiserver-") as tmp:
        packages = Path(tmp) / "packages"
        packages.mkdir()
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        command = [str(refs / "bin" / "pypi-server"), "run", "-p", str(port), "-i",
                   "127.0.0.1", "-P", ".", "-a", ".", "--server", "auto", str(packages)]
        with process(command, Path(tmp) / "log", base + "/simple/"):
            rate = upload_all(f"{base}/", files, args.clients, {})
            check_page(base + "/simple/proj0/", 6)
            return measure("pypiserver 2.4.2", base, "/simple/proj%d/", args.projects,
                           args.rounds, args.duration, lua, rate, speaks_json=False,
                           files=f"/packages/{WHEEL}")


def run_devpi(args: argparse.Namespace, files: list[Path], lua: Path) -> Result:
    refs = Path(args.refs)
    with tempfile.TemporaryDirectory(prefix="bench-devpi-") as tmp:
        serverdir = Path(tmp) / "server"
        init = subprocess.run([str(refs / "bin" / "devpi-init"), "--serverdir", str(serverdir),
                               "--no-root-pypi"], capture_output=True, text=True, check=False)
        if init.returncode != 0:
            raise BenchError(f"devpi-init failed:\n{init.stdout}{init.stderr}")
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        command = [str(refs / "bin" / "devpi-server"), "--serverdir", str(serverdir),
                   "--host", "127.0.0.1", "--port", str(port)]
        with process(command, Path(tmp) / "log", base + "/+api"):
            auth = {"Authorization": "Basic " + base64.b64encode(b"root:").decode()}
            login = httpx.post(f"{base}/+login", json={"user": "root", "password": ""},
                               headers={"Accept": "application/json"})
            if login.status_code != 200:
                raise BenchError(f"devpi login: {login.status_code} {login.text[:300]}")
            password = login.json()["result"]["password"]
            devpi_auth = {"X-Devpi-Auth": base64.b64encode(
                f"root:{password}".encode()).decode(), "Accept": "application/json"}
            created = httpx.put(f"{base}/root/bench", json={"type": "stage", "bases": [],
                                                            "volatile": True},
                                headers=devpi_auth)
            if created.status_code not in (200, 201):
                raise BenchError(f"devpi index: {created.status_code} {created.text[:300]}")
            rate = upload_all(f"{base}/root/bench/", files, args.clients, devpi_auth)
            _ = auth
            check_page(base + "/root/bench/+simple/proj0/", 6)
            return measure("devpi-server 6.20.3", base, "/root/bench/+simple/proj%d/",
                           args.projects, args.rounds, args.duration, lua, rate,
                           speaks_json=True)


def check_page(url: str, files: int) -> None:
    page = httpx.get(url, headers={"Accept": HTML_ACCEPT}).text
    if page.count("<a ") < files:
        raise BenchError(f"{url} lists {page.count('<a ')} files, expected {files}:\n{page}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--refs", default="/tmp/pyrefs",
                        help="venv with pypiserver and devpi-server (see the docstring)")
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="50 projects, 5 s, one round")
    parser.add_argument("--servers", default="vouch,pypiserver,devpi",
                        help="comma-separated subset to run (the ratios need vouch and a "
                             "reference in the same run)")
    args = parser.parse_args()
    if args.quick:
        args.projects, args.duration, args.rounds = 50, 5, 1
    with tempfile.TemporaryDirectory(prefix="bench-simple-") as tmp:
        dists = Path(tmp) / "dists"
        dists.mkdir()
        files = build_dists(dists, args.projects)
        lua = Path(tmp) / "simple.lua"
        lua.write_text(WRK_LUA)
        known = {"vouch": run_vouch, "pypiserver": run_pypiserver, "devpi": run_devpi}
        chosen = args.servers.split(",")
        if not chosen or any(c not in known for c in chosen):
            parser.error(f"--servers: choose from {', '.join(known)}")
        runners: list[Callable[[argparse.Namespace, list[Path], Path], Result]] = [
            known[c] for c in chosen]
        results = [runner(args, files, lua) for runner in runners]
    print(machine_note())
    print(f"{args.projects} projects x 3 releases x 2 files ({len(files)} uploads, "
          f"{args.clients} clients); reads: wrk -t2 -c32, best of {args.rounds} x "
          f"{args.duration} s, random project pages")
    header = f"{'server':22} {'uploads/s':>10} {'JSON req/s':>11} {'p99 ms':>7} " \
             f"{'HTML req/s':>11} {'p99 ms':>7} {'wheel req/s':>11} {'p99 ms':>7} " \
             f"{'.metadata':>11} {'p99 ms':>7} {'load':>5}"
    print(header)
    print("-" * len(header))
    for r in results:
        json_rps = f"{r.json.rps:11.0f} {r.json.p99_ms:7.1f}" if r.json else f"{'-':>11} {'-':>7}"
        wheels, meta = (f"{x.rps:11.0f} {x.p99_ms:7.1f}" if x else f"{'-':>11} {'-':>7}"
                        for x in (r.files, r.metadata))
        print(f"{r.server:22} {r.uploads:10.1f} {json_rps} {r.html.rps:11.0f} "
              f"{r.html.p99_ms:7.1f} {wheels} {meta} {r.html.load:5.2f}")
    vouch = results[0]
    for ref in (results[1:] if chosen[0] == "vouch" else []):
        ratio = vouch.html.rps / ref.html.rps
        verdict = "pass" if ratio >= 20 else "MISS"
        print(f"HTML reads, vouch / {ref.server}: {ratio:.1f}x (target 20x: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main_wrapper(main))
