"""Verification cost per call: Sigstore bundles and GPG detached signatures (p50 / p99).

    .venv/bin/python bench/bench_verify.py            # default: 200 Sigstore runs, 100 GPG runs
    .venv/bin/python bench/bench_verify.py -n 500

Sigstore: real public-good bundles from tests/data/signatures (hashedrekord and PEP 740 DSSE),
verified offline against the pinned trust root. GPG: an Ed25519 key made for the run (real
`gpg`), verified in a fresh throwaway keyring per call, as `signing.gpg` does in production;
plus the Debian Release signature (RSA-4096 subkey, 3 signatures, 149 KB of data).
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "unit" / "signing"))

from gpg_keys import Keyring  # noqa: E402

from signing import GenericIdentity, GitHubPublisher, TrustRoot, verify_bundle  # noqa: E402
from signing.gpg import verify_detached  # noqa: E402

DATA = ROOT / "tests" / "data" / "signatures"


def measure(name: str, fn: Callable[[], object], runs: int) -> None:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p99 = times[min(len(times) - 1, round(0.99 * len(times)) - 1)]
    print(f"{name:<48} n={runs:<5} p50={statistics.median(times):7.2f} ms  "
          f"p99={p99:7.2f} ms  mean={statistics.fmean(times):7.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="Sigstore runs (GPG: n/2)")
    args = parser.parse_args()
    trust = TrustRoot.public_good()

    whl = DATA / "sigstore-python/bundle_v3_github.whl"
    whl_bundle = (DATA / "sigstore-python/bundle_v3_github.whl.sigstore").read_bytes()
    whl_sha = hashlib.sha256(whl.read_bytes()).hexdigest()
    publisher = GitHubPublisher("trailofbits/rfc8785.py", "release.yml")
    measure("sigstore hashedrekord (rfc8785 wheel, v0.2)",
            lambda: verify_bundle(whl_bundle, whl_sha, whl.name, publisher, trust), args.n)

    dist = DATA / "pypi-attestations/pypi_attestations-0.0.19.tar.gz"
    att = (DATA / "pypi-attestations/pypi_attestations-0.0.19.tar.gz.publish.attestation"
           ).read_bytes()
    dist_sha = hashlib.sha256(dist.read_bytes()).hexdigest()
    tp = GitHubPublisher("trailofbits/pypi-attestations", "release.yml")
    measure("sigstore dsse (PEP 740 attestation)",
            lambda: verify_bundle(att, dist_sha, dist.name, tp, trust), args.n)

    measure("TrustRoot.public_good() load", TrustRoot.public_good, args.n)

    a_txt_sha = hashlib.sha256((DATA / "conformance/a.txt").read_bytes()).hexdigest()
    beacon = (DATA / "conformance/happy-path-v0.3/bundle.sigstore.json").read_bytes()
    ident = GenericIdentity(
        san="https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
            ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main",
        issuer="https://token.actions.githubusercontent.com")
    measure("sigstore hashedrekord (conformance v0.3)",
            lambda: verify_bundle(beacon, a_txt_sha, None, ident, trust), args.n)

    gpg_runs = max(1, args.n // 2)
    ring = Keyring()
    try:
        key = ring.make("Bench <bench@example.test>")
        artifact = bytes(range(256)) * 4096  # 1 MiB
        signature = ring.sign(key.fingerprint, artifact)
        measure("gpg ed25519 detached, 1 MiB artifact",
                lambda: verify_detached(artifact, signature, [key.public]), gpg_runs)
    finally:
        ring.close()
    release = (DATA / "gpg/Release").read_bytes()
    release_sig = (DATA / "gpg/Release.gpg").read_bytes()
    keys = [(DATA / "gpg/debian-archive-bookworm-automatic.asc").read_text()]
    measure("gpg Debian Release (rsa4096 subkey, 3 sigs)",
            lambda: verify_detached(release, release_sig, keys), gpg_runs)


if __name__ == "__main__":
    main()
