"""CPU of the publish service alone, in process: issue 13's steadiest publish figure.

    .venv/bin/python bench/bench_publish_service.py                 # SQLite and PostgreSQL
    .venv/bin/python bench/bench_publish_service.py --db postgres --publishes 300
    .venv/bin/python bench/bench_publish_service.py --sigstore      # signed first publishes

``bench_publish.py`` measures the whole server under 8 clients; on this shared 2-core machine
its throughput and CPU per publish move by a quarter between identical runs. This calls
``PublishService.publish`` from one thread, no HTTP, no outbox worker: unsigned first
publishes of 1 KiB artifacts (``--publishes`` distinct packages after 30 not measured; with
``--sigstore`` each carries a bundle of the local Sigstore stand-in, made beforehand, for a
scope-wide trusted publisher, as ``bench_table.py`` publishes them), on a
fresh SQLite data directory or a fresh PostgreSQL database (``VOUCH_BENCH_POSTGRES``, as
``bench_publish.py``; created, migrated and dropped here). Prints CPU ms per publish (this
process: the service and the database driver; for SQLite the database itself) and wall ms
per publish. To compare two commits, run it alternately in both checkouts.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.accounts.service import Principal, authenticate, create_token, create_user
from app.core.clock import SystemClock
from app.core.config import Settings
from app.core.db import make_engine, session_scope, upgrade
from app.core.models import Membership, Org
from app.publishing.publish import PublishRequest
from app.registry import Registry
from app.trust.configuration import add_publisher
from app.trust.evidence import Evidence
from bench.bench_publish import postgres_database

WARMUP = 30
REPOSITORY, WORKFLOW = "bench/service", "release.yml"


def artifact(i: int) -> bytes:
    return f"artifact {i}\n".encode() * 80


def measure(url: str, data_dir: Path, count: int, sigstore: bool) -> tuple[float, float]:
    """(CPU ms, wall ms) per first publish through ``PublishService.publish``."""
    upgrade(make_engine(url))
    bundles: dict[int, bytes] = {}
    trust = "public-good"  # the default: unsigned publishes never load it
    if sigstore:
        from tests.support.sigstore_local import GitHubIdentity, SigstoreInstance

        instance = SigstoreInstance.create()
        identity = GitHubIdentity(repository=REPOSITORY, workflow=WORKFLOW)
        trust = str(instance.write_trusted_root(data_dir.parent / "root.json"))
        bundles = {i: instance.sign_artifact(artifact(i), identity)
                   for i in range(WARMUP + count)}
    settings = Settings(data_dir=data_dir, database_url=url, environment="development",
                        default_signature_policy="none", sigstore_trust=trust)
    registry = Registry.build(settings, clock=SystemClock())
    try:
        now = registry.clock.now()
        with session_scope(registry.engine, write=True) as session:
            user = create_user(session, "bench", now=now, actor=None)
            _, secret = create_token(session, user, now=now)
        with session_scope(registry.engine) as session:
            principal: Principal = authenticate(session, secret, now=now)

        def publish(i: int) -> None:
            registry.publish.publish(PublishRequest(
                name=f"@bench/service-{i}", version="1.0.0", metadata=b'{"description": "x"}',
                artifact=io.BytesIO(artifact(i)), filename="a.tgz",
                evidence=Evidence(sigstore_bundle=bundles.get(i))), principal)

        with session_scope(registry.engine, write=True) as session:  # the @bench scope
            org = Org(name="bench", created_at=now)
            session.add(org)
            session.flush()
            assert org.id is not None and user.id is not None
            session.add(Membership(org_id=org.id, user_id=user.id, role="owner", created_at=now))
        if sigstore:
            with session_scope(registry.engine, write=True) as session:
                add_publisher(session, principal, target="@bench", repository=REPOSITORY,
                              workflow=WORKFLOW, environment=None, ref_pattern=None, now=now)
        for i in range(WARMUP):
            publish(i)
        cpu, wall = time.process_time(), time.perf_counter()
        for i in range(WARMUP, WARMUP + count):
            publish(i)
        return ((time.process_time() - cpu) * 1000 / count,
                (time.perf_counter() - wall) * 1000 / count)
    finally:
        registry.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--publishes", type=int, default=300)
    parser.add_argument("--sigstore", action="store_true",
                        help="Sigstore-signed publishes (a bundle each) instead of unsigned")
    args = parser.parse_args()
    mode = "Sigstore" if args.sigstore else "unsigned"
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        with tempfile.TemporaryDirectory(prefix="vouch-bench-service-") as tmp, \
                postgres_database(db == "postgres") as pg_url:
            url = pg_url or f"sqlite:///{tmp}/vouch.db"
            cpu, wall = measure(url, Path(tmp) / "data", args.publishes, args.sigstore)
        print(f"{db:<8} {mode} first publish: {cpu:5.2f} ms CPU, {wall:5.2f} ms wall "
              f"({args.publishes} serial publishes, publish service only)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
