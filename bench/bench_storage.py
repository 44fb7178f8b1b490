"""Benchmark the blob stores side by side (issue 16): the filesystem, and S3 (moto's server
mode on loopback) in proxy and in redirect mode, in one run.

Run::

    .venv/bin/python bench/bench_storage.py                 # defaults below
    .venv/bin/python bench/bench_storage.py --small 60 --downloads 600 --threads 8

For each store a fresh `vouch serve` (SQLite, development mode, signature policy ``none``:
the signature check is not what is measured) gets ``--small`` publishes of 64 KiB and
``--big`` publishes of 8 MiB, one after another, then ``--downloads`` GETs of the small
artifacts from ``--threads`` client threads, and ``--big-downloads`` GETs of the big ones.
In redirect mode the GETs follow the 307 to moto, as a client does; the registry's own cost
is measured apart: ``--downloads`` GETs that stop at the 307.

moto keeps objects in memory and is a single Python process: the S3 figures are an upper
bound on Vouch's own S3 overhead plus moto's, not what AWS S3 or MinIO would give. Figures
go to stdout with the machine's load (the load generator shares the cores).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import boto3
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._server import (
    BenchError,
    Figures,
    Workspace,
    authed_client,
    check_vouch,
    create_token,
    free_port,
    machine_note,
    main_wrapper,
    publish,
    running_server,
)

KIB, MIB = 1024, 1024 * 1024
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret",
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}


@contextmanager
def moto_server(log: Path) -> Iterator[str]:
    """moto's S3 API on a free loopback port (stopped on exit)."""
    port = free_port()
    binary = Path(sys.executable).parent / "moto_server"
    with log.open("ab") as out:
        process = subprocess.Popen([str(binary), "-H", "127.0.0.1", "-p", str(port)],
                                   stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, **CREDENTIALS})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/moto-api/", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise BenchError(f"moto_server did not start (log: {log})") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def new_bucket(url: str) -> str:
    bucket = f"bench-{uuid.uuid4().hex[:12]}"
    boto3.session.Session().client(
        "s3", endpoint_url=url, region_name="us-east-1",
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"]).create_bucket(Bucket=bucket)
    return bucket


def artifact(label: str, size: int) -> bytes:
    stamp = f"{label}\n".encode()
    return (stamp * (size // len(stamp) + 1))[:size]


def rate(count: int, seconds: float) -> str:
    return f"{count / seconds:8.1f}/s"


def throughput(total_bytes: int, seconds: float) -> str:
    return f"{total_bytes / MIB / seconds:8.1f} MiB/s"


def parallel(threads: int, calls: list[Callable[[], int]]) -> tuple[float, int]:
    """Run the calls on ``threads`` threads; (seconds, bytes received)."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        received = sum(pool.map(lambda call: call(), calls))
    return time.perf_counter() - started, received


def measure(label: str, extra_env: dict[str, str], args: argparse.Namespace,
            figures: Figures, *, redirect: bool) -> None:
    with Workspace(f"storage-{label.split()[0]}", extra_env=extra_env) as ws:
        check_vouch(["admin", "migrate"], ws.env)
        token = create_token(ws.env, "bench", "--admin")
        with running_server(ws) as base, authed_client(base, token) as client:
            small = [artifact(f"small {i}", 64 * KIB) for i in range(args.small)]
            big = [artifact(f"big {i}", 8 * MIB) for i in range(args.big)]
            started = time.perf_counter()
            for i, data in enumerate(small):
                publish(client, f"small-{i}", "1.0.0", data)
            seconds = time.perf_counter() - started
            figures.add(f"{label}: publish 64 KiB", rate(len(small), seconds))
            started = time.perf_counter()
            for i, data in enumerate(big):
                publish(client, f"big-{i}", "1.0.0", data)
            seconds = time.perf_counter() - started
            figures.add(f"{label}: publish 8 MiB", throughput(len(big) * 8 * MIB, seconds))

            with httpx.Client(base_url=base, follow_redirects=True, timeout=120,
                              limits=httpx.Limits(max_connections=args.threads * 2)) as http:
                def get(path: str) -> Callable[[], int]:
                    def call() -> int:
                        answer = http.get(path)
                        if answer.status_code != 200:
                            raise BenchError(f"GET {path}: {answer.status_code}")
                        return len(answer.content)
                    return call

                smalls = [get(f"/api/v1/packages/small-{i % args.small}/versions/1.0.0/artifact")
                          for i in range(args.downloads)]
                seconds, received = parallel(args.threads, smalls)
                figures.add(f"{label}: download 64 KiB", rate(len(smalls), seconds))
                bigs = [get(f"/api/v1/packages/big-{i % args.big}/versions/1.0.0/artifact")
                        for i in range(args.big_downloads)]
                seconds, received = parallel(args.threads, bigs)
                figures.add(f"{label}: download 8 MiB", throughput(received, seconds))

            if redirect:
                with httpx.Client(base_url=base, timeout=60) as http:
                    def redirect_only(i: int) -> Callable[[], int]:
                        path = f"/api/v1/packages/small-{i % args.small}/versions/1.0.0/artifact"

                        def call() -> int:
                            answer = http.get(path)
                            if answer.status_code != 307:
                                raise BenchError(f"GET {path}: {answer.status_code}, not 307")
                            return 0
                        return call

                    seconds, _ = parallel(args.threads,
                                          [redirect_only(i) for i in range(args.downloads)])
                    figures.add(f"{label}: the 307 alone", rate(args.downloads, seconds))


def run() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=40)
    parser.add_argument("--big", type=int, default=3)
    parser.add_argument("--downloads", type=int, default=400)
    parser.add_argument("--big-downloads", type=int, default=12)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    figures = Figures()
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-moto-{os.getpid()}.log"
    measure("filesystem", {}, args, figures, redirect=False)
    with moto_server(log) as url:
        s3 = {"VOUCH_BLOB_STORE": "s3", "VOUCH_S3_ENDPOINT_URL": url,
              "VOUCH_S3_REGION": "us-east-1", **CREDENTIALS}
        measure("s3 (moto) proxy", {**s3, "VOUCH_S3_BUCKET": new_bucket(url)}, args, figures,
                redirect=False)
        measure("s3 (moto) redirect", {**s3, "VOUCH_S3_BUCKET": new_bucket(url),
                                       "VOUCH_DOWNLOAD_MODE": "redirect"},
                args, figures, redirect=True)
    figures.print()
    print(machine_note())
    return 0


if __name__ == "__main__":
    sys.exit(main_wrapper(run))
