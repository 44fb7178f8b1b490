"""Seed a registry's database and blob directory fast, through the publish service in process.

    .venv/bin/python bench/_seed.py --packages 1000 --versions 3 --big 1   # env: VOUCH_*

Run with the server's environment (``VOUCH_DATA_DIR``, ``VOUCH_DATABASE_URL``, development mode,
``VOUCH_DEFAULT_SIGNATURE_POLICY=none``) before `vouch serve` starts: it builds the same
``Registry`` the server builds (migrations included) and calls its publish service directly,
from ``--threads`` threads, as the admin user ``--user`` (created beforehand with `vouch
admin`). That is the whole publish path (staging, digests, the blob write, one transaction with
its audit event and outbox row) minus HTTP, multipart parsing and the signature check (the
policy is ``none``). The outbox it fills (search updates) is drained here too, so the server
starts idle. Prints one JSON line: how many versions and how long it took.

Package ``bench-NNNNN`` version ``1.0.V`` holds ~1 KiB; ``bench-big`` 1.0.0 holds 10 MiB.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SMALL = "bench-{:05d}"
BIG = "bench-big"
KIB = 1024
MIB = 1024 * 1024


def small_artifact(i: int, v: int) -> bytes:
    stamp = f"{SMALL.format(i)} 1.0.{v}\n".encode()
    return (stamp * (KIB // len(stamp) + 1))[:KIB]


def big_artifact() -> bytes:
    return os.urandom(10 * MIB)


def _imports() -> tuple[Any, ...]:
    """The app's classes, wherever the domain-package refactor (issue 11) put them."""
    import importlib

    def find(name: str, *modules: str) -> Any:
        for module in modules:
            try:
                return getattr(importlib.import_module(module), name)
            except (ImportError, AttributeError):
                continue
        raise ImportError(f"{name} not found in {modules}")

    return (find("Settings", "app.config", "app.core.config"),
            find("Registry", "app.registry"),
            find("PublishRequest", "app.publishing.publish", "app.services.publish"),
            find("Principal", "app.accounts.service", "app.services.accounts"),
            find("User", "app.models", "app.core.models"))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--packages", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=3)
    parser.add_argument("--big", type=int, default=1)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--user", default="bench")
    args = parser.parse_args()

    settings_cls, registry_cls, request_cls, principal_cls, user_cls = _imports()
    from sqlmodel import Session, select

    settings = settings_cls()
    registry = registry_cls.build(settings)
    with Session(registry.engine) as session:
        user = session.exec(select(user_cls).where(user_cls.name == args.user)).one()
    principal = principal_cls(name=args.user, user_id=user.id, is_admin=True)

    def publish(name: str, version: str, data: bytes) -> None:
        registry.publish.publish(request_cls(
            name=name, version=version, artifact=io.BytesIO(data), filename=f"{name}-{version}.bin",
            metadata=json.dumps({"description": f"benchmark package {name}"})), principal)

    jobs = [(SMALL.format(i), f"1.0.{v}", i, v)
            for v in range(args.versions) for i in range(args.packages)]
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(args.threads) as pool:
        list(pool.map(lambda job: publish(job[0], job[1], small_artifact(job[2], job[3])), jobs))
        for n in range(args.big):
            publish(BIG if n == 0 else f"{BIG}-{n}", "1.0.0", big_artifact())
    published = time.perf_counter() - started
    drained = 0
    while (done := registry.worker.run_once()):
        drained += done
    registry.close()
    print(json.dumps({"versions": len(jobs) + args.big, "seconds": round(published, 2),
                      "outbox_drained": drained,
                      "drain_seconds": round(time.perf_counter() - started - published, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
