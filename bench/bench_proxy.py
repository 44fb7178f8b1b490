"""Issue 17's benchmark: installing a package tree through Vouch's upstream proxy, cold (every
page and file a miss: fetched from the upstream, verified, stored) and warm (everything cached),
against installing the same tree directly from the upstream, in one run.

    .venv/bin/python bench/bench_proxy.py                 # 50 packages, uv, 3 rounds
    .venv/bin/python bench/bench_proxy.py --packages 20 --client pip --rounds 1

The upstream is a real pypiserver 2.4.2 (its own virtualenv under /tmp, created on first use
by ``tests/support/pypiserver.py``) holding ``--packages`` wheels that form a tree: package i
requires packages 2i+1 and 2i+2, so installing ``tree-0`` pulls in all of them. Vouch runs as
`vouch serve` (one worker, SQLite, filesystem blobs) with ``VOUCH_UPSTREAMS`` naming that
pypiserver. Each install goes into a fresh target directory with the client's cache off (uv:
``--no-cache``; pip: ``--no-cache-dir``). Direct and warm are the best of ``--rounds``; cold is
one per round on a fresh Vouch (a new data directory). The figures print with the load
average: the machine's two cores are shared with other work.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._server import (  # noqa: E402
    BenchError,
    Figures,
    Workspace,
    machine_note,
    main_wrapper,
    running_server,
)
from tests.support.pypiserver import PypiServer  # noqa: E402

BIN = Path(sys.executable).parent


def tree_wheel(directory: Path, index: int, count: int) -> Path:
    """``tree-<index>`` 1.0, requiring its two children (if they exist)."""
    name, module = f"tree-{index}", f"tree_{index}"
    requires = [f"tree-{c}>=1.0" for c in (2 * index + 1, 2 * index + 2) if c < count]
    dist_info = f"{module}-1.0.dist-info"
    metadata = "Metadata-Version: 2.1\nName: {}\nVersion: 1.0\n{}\n".format(
        name, "".join(f"Requires-Dist: {r}\n" for r in requires))
    files = {f"{module}/__init__.py": b"VALUE = %d\n" % index,
             f"{dist_info}/METADATA": metadata.encode(),
             f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: bench\n"
                                   b"Root-Is-Purelib: true\nTag: py3-none-any\n"}
    record = "".join(
        f"{p},sha256={base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b'=').decode()}"
        f",{len(d)}\n" for p, d in files.items()) + f"{dist_info}/RECORD,,\n"
    files[f"{dist_info}/RECORD"] = record.encode()
    path = directory / f"{module}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in files.items():
            archive.writestr(zipfile.ZipInfo(member, date_time=(2026, 1, 1, 0, 0, 0)), data)
    return path


def install(client: str, index_url: str, work: Path, count: int) -> float:
    target = Path(tempfile.mkdtemp(dir=work, prefix="target-"))
    if client == "uv":
        command = [str(BIN / "uv"), "pip", "install", "--no-cache", "--index-url", index_url,
                   "--target", str(target), "--python", sys.executable, "tree-0"]
    else:
        command = [sys.executable, "-m", "pip", "install", "--no-cache-dir",
                   "--disable-pip-version-check", "--index-url", index_url, "--target",
                   str(target), "tree-0"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise BenchError(f"{client} install from {index_url} failed:\n{done.stderr[-3000:]}")
    installed = len(list(target.glob("tree_*.dist-info")))
    shutil.rmtree(target, ignore_errors=True)
    if installed != count:
        raise BenchError(f"{client} installed {installed} packages, not {count}")
    return elapsed


def run(args: argparse.Namespace) -> int:
    figures = Figures()
    with tempfile.TemporaryDirectory(prefix="vouch-bench-proxy-") as tmp:
        work = Path(tmp)
        packages = work / "upstream" / "packages"
        packages.mkdir(parents=True)
        for index in range(args.packages):
            tree_wheel(packages, index, args.packages)
        with PypiServer.start(packages) as upstream:
            config = work / "upstreams.toml"
            config.write_text(f'[[upstream]]\nname = "pypiserver"\nformat = "pypi"\n'
                              f'url = "{upstream.url}"\nmetadata_ttl = "1h"\n')
            direct = min(install(args.client, upstream.url, work, args.packages)
                         for _ in range(args.rounds))
            cold: list[float] = []
            warm: list[float] = []
            for _ in range(args.rounds):
                with Workspace("proxy", extra_env={"VOUCH_UPSTREAMS": str(config)}) as ws, \
                        running_server(ws) as base:
                    cold.append(install(args.client, f"{base}/simple/", work, args.packages))
                    warm += [install(args.client, f"{base}/simple/", work, args.packages)
                             for _ in range(args.rounds)]
    n, client = args.packages, args.client
    figures.add(f"{client} install, {n} packages, directly from pypiserver", f"{direct:.2f} s")
    figures.add(f"{client} install through Vouch, cold (all misses)", f"{min(cold):.2f} s")
    figures.add(f"{client} install through Vouch, warm (all hits)", f"{min(warm):.2f} s")
    figures.add("warm / direct", f"{min(warm) / direct:.2f}x")
    figures.print()
    print(machine_note())
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--client", choices=("uv", "pip"), default="uv")
    args = parser.parse_args()
    return main_wrapper(lambda: run(args))


if __name__ == "__main__":
    sys.exit(main())
