"""Publish throughput with signature verification on and off, over HTTP (issue 4).

    .venv/bin/python bench/bench_verify_publish.py
    .venv/bin/python bench/bench_verify_publish.py --publishes 500 --threads 8 --sequential 100
    .venv/bin/python bench/bench_verify_publish.py --no-rekor     # skip the online-log case

Starts `vouch serve` on loopback with a fresh data directory (development mode, default
signature policy ``none``, ``VOUCH_SIGSTORE_TRUST`` pointing at the trusted root of a private
Sigstore instance, ``tests.support.sigstore_local.SigstoreInstance``) and publishes 1 KiB
artifacts in each mode, every mode in its own scope:

- ``unsigned``: no signature (policy none): verification off;
- ``sigstore``: a hashedrekord bundle (v0.3) per artifact from the private instance, signed as
  ``bench/sig`` ``release.yml``, which a scope-wide trusted publisher (``POST
  /api/v1/trusted-publishers``) trusts; verified offline against the trusted root (the
  default, ``VOUCH_REKOR_MODE=off``);
- ``sigstore+rekor``: the same, on a second server with ``VOUCH_REKOR_MODE=fail_closed`` and
  ``VOUCH_REKOR_URL`` at the instance's Rekor v1 API on loopback (served by a thread of this
  process), so every publish also asks the log for its entry;
- ``gpg``: an armored detached signature made with the real `gpg` (an Ed25519 key generated in a
  temporary GNUPGHOME and registered with ``POST /api/v1/gpg-keys``, which signs a challenge).

Every artifact is signed before the clock starts: signing time is not measured. Each mode runs
``--publishes`` publishes from ``--threads`` concurrent keep-alive clients (publishes/s), then
``--sequential`` publishes from one client (latency p50/p99; the per-publish verification
overhead is a signed mode's p50 minus the unsigned p50). Every signed publish must answer 201
with the expected ``signer.method``. For the verification cost in process, without HTTP or the
database, see ``bench/bench_verify.py`` (Sigstore and GPG p50/p99).

There is no target in issue 4 for these figures; the registry benchmark's unsigned publish
target (>= 200 publishes/s) is shown for reference. Exits 0 after printing the table, 1 when a
step fails.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._server import (
    BenchError,
    Figures,
    Workspace,
    authed_client,
    create_token,
    machine_note,
    main_wrapper,
    median,
    percentile,
    publish,
    running_server,
)
from tests.support.sigstore_local import GitHubIdentity, SigstoreInstance
from tests.unit.signing.gpg_keys import Keyring

IDENTITY = GitHubIdentity(repository="bench/sig", workflow="release.yml")
UNSIGNED_TARGET = 200.0
Evidence = dict[str, tuple[str, bytes, str]]


@dataclass(frozen=True)
class Upload:
    name: str
    version: str
    artifact: bytes
    evidence: Evidence


@dataclass(frozen=True)
class ModeResult:
    mode: str
    concurrent_seconds: float
    concurrent_count: int
    latencies_ms: list[float]

    @property
    def per_second(self) -> float:
        return self.concurrent_count / self.concurrent_seconds


def artifact(scope: str, i: int) -> bytes:
    stamp = f"{scope} artifact {i}\n".encode()
    return (stamp * (1024 // len(stamp) + 1))[:1024]


def uploads(scope: str, count: int, sign: Callable[[bytes], Evidence]) -> list[Upload]:
    """``count`` distinct packages of ``@scope``, each signed in advance."""
    out = []
    for i in range(count):
        data = artifact(scope, i)
        out.append(Upload(f"@{scope}/p-{i:05d}", "1.0.0", data, sign(data)))
    return out


def publish_all(base: str, token: str, items: list[Upload], threads: int,
                method: str | None) -> list[float]:
    """Publish every upload from ``threads`` clients; returns per-publish latencies (ms)."""

    def worker(chunk: list[Upload]) -> list[float]:
        times = []
        with authed_client(base, token) as client:
            for item in chunk:
                started = time.perf_counter()
                answer = publish(client, item.name, item.version, item.artifact,
                                 evidence=item.evidence, filename=f"p-{item.version}.bin")
                times.append((time.perf_counter() - started) * 1000)
                signer = answer.json().get("signer")
                got = signer.get("method") if signer else None
                if got != method:
                    raise BenchError(f"{item.name}: signer method {got!r}, expected {method!r}")
        return times

    chunks = [items[i::threads] for i in range(threads)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=threads) as pool:
        return [ms for chunk in pool.map(worker, chunks) for ms in chunk]


def run_mode(base: str, token: str, mode: str, method: str | None, items: list[Upload],
             threads: int, sequential: int) -> ModeResult:
    """The first ``sequential`` uploads go one at a time, the rest concurrently."""
    one_by_one = publish_all(base, token, items[:sequential], 1, method)
    started = time.perf_counter()
    publish_all(base, token, items[sequential:], threads, method)
    elapsed = time.perf_counter() - started
    result = ModeResult(mode, elapsed, len(items) - sequential, one_by_one)
    print(f"{mode:<15} {result.per_second:7.1f} publishes/s at {threads} clients; one client: "
          f"p50 {median(one_by_one):.1f} ms")
    return result


def setup_scope(base: str, token: str, scope: str) -> None:
    with authed_client(base, token) as client:
        answer = client.post("/api/v1/orgs", json={"name": scope})
        if answer.status_code != 201:
            raise BenchError(f"creating org {scope} answered {answer.status_code}: {answer.text}")
        if scope.startswith("sig"):
            answer = client.post("/api/v1/trusted-publishers", json={
                "target": f"@{scope}", "repository": IDENTITY.repository,
                "workflow": IDENTITY.workflow})
            if answer.status_code != 201:
                raise BenchError(f"trusted publisher answered {answer.status_code}: "
                                 f"{answer.text}")


@contextlib.contextmanager
def gpg_signer(base: str, token: str) -> Iterator[Callable[[bytes], Evidence]]:
    """A fresh Ed25519 key, registered as the admin's; yields a signing function."""
    ring = Keyring()
    try:
        key = ring.make("Vouch Bench <bench@example.test>")
        with authed_client(base, token) as client:
            # Registration proves possession: sign the registry's challenge with the key.
            challenge = client.get("/api/v1/gpg-keys/challenge").json()["challenge"]
            answer = client.post("/api/v1/gpg-keys", json={
                "armored": key.public, "challenge": challenge,
                "signature": ring.sign(key.fingerprint, challenge.encode()).decode()})
            if answer.status_code != 201:
                raise BenchError(f"gpg key registration answered {answer.status_code}: "
                                 f"{answer.text}")

        def sign(data: bytes) -> Evidence:
            signature = ring.sign(key.fingerprint, data)
            return {"gpg_signature": ("artifact.asc", signature, "application/pgp-signature")}

        yield sign
    finally:
        ring.close()


def run(args: argparse.Namespace) -> int:
    instance = SigstoreInstance.create()
    count = args.publishes + args.sequential

    def sigstore_sign(data: bytes) -> Evidence:
        return {"sigstore_bundle": ("bundle.sigstore.json",
                                    instance.sign_artifact(data, IDENTITY), "application/json")}

    results: list[ModeResult] = []
    with Workspace("verify-publish", keep=args.keep) as ws:
        root = instance.write_trusted_root(ws.path / "trusted_root.json")
        ws.env["VOUCH_SIGSTORE_TRUST"] = str(root)
        token = create_token(ws.env, "bench", "--admin")
        started = time.perf_counter()
        plans: dict[str, list[Upload]] = {
            "unsigned": uploads("plain", count, lambda _: {}),
            "sigstore": uploads("sig", count, sigstore_sign),
        }
        if args.rekor:
            plans["sigstore+rekor"] = uploads("sigrekor", count, sigstore_sign)
        with running_server(ws) as base:
            print(f"server: {base}")
            for scope in ("plain", "sig", "sigrekor", "gpg"):
                setup_scope(base, token, scope)
            with gpg_signer(base, token) as gpg_sign:
                plans["gpg"] = uploads("gpg", count, gpg_sign)
            print(f"signed {sum(len(p) for p in plans.values() if p[0].evidence)} artifacts in "
                  f"{time.perf_counter() - started:.1f} s (not measured)")
            for mode, method in (("unsigned", None), ("sigstore", "sigstore"), ("gpg", "gpg")):
                results.append(run_mode(base, token, mode, method, plans[mode], args.threads,
                                        args.sequential))
        if args.rekor:
            with instance.serve() as rekor, running_server(ws, extra_env={
                    "VOUCH_REKOR_MODE": "fail_closed", "VOUCH_REKOR_URL": rekor.url}) as base:
                results.append(run_mode(base, token, "sigstore+rekor", "sigstore",
                                        plans["sigstore+rekor"], args.threads,
                                        args.sequential))
    report(results, args)
    return 0


def report(results: list[ModeResult], args: argparse.Namespace) -> None:
    figures = Figures()
    unsigned = results[0]
    base_p50 = median(unsigned.latencies_ms)
    for result in results:
        is_unsigned = result is unsigned
        figures.add(f"{result.mode}: publishes/s ({args.threads} clients, "
                    f"n={result.concurrent_count})", f"{result.per_second:,.1f}",
                    f">= {UNSIGNED_TARGET:.0f} (bench_registry)" if is_unsigned else "-",
                    result.per_second >= UNSIGNED_TARGET if is_unsigned else None)
        ms = result.latencies_ms
        figures.add(f"{result.mode}: publish latency p50 / p99 (1 client, n={len(ms)})",
                    f"{median(ms):.1f} / {percentile(ms, 99):.1f} ms")
        if not is_unsigned:
            figures.add(f"{result.mode}: verification overhead per publish (p50 - unsigned p50)",
                        f"{median(ms) - base_p50:+.1f} ms")
            figures.add(f"{result.mode}: throughput vs unsigned",
                        f"{result.per_second / unsigned.per_second:.0%}")
    print()
    figures.print()
    print("\n1 KiB artifacts, one `vouch serve` worker, SQLite. In-process verification cost "
          "(no HTTP, no database): .venv/bin/python bench/bench_verify.py")
    print(machine_note())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--publishes", type=int, default=300,
                        help="concurrent publishes per mode; default 300")
    parser.add_argument("--threads", type=int, default=8, help="concurrent clients; default 8")
    parser.add_argument("--sequential", type=int, default=100,
                        help="one-client publishes per mode (latency); default 100")
    parser.add_argument("--no-rekor", dest="rekor", action="store_false",
                        help="skip the Sigstore + online Rekor lookup mode")
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    args = parser.parse_args(argv)
    if args.publishes < 1 or args.threads < 1 or args.sequential < 1:
        parser.error("--publishes, --threads and --sequential must be at least 1")
    return main_wrapper(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
