"""The database goes down under a running registry (issue 10): requests that need it answer
503 problem+json ``database_unavailable`` with Retry-After (never a 500, never the driver's
message), ``/readyz`` says "not ready" while ``/healthz`` stays 200, a refused publish leaves
nothing behind, and the registry recovers by itself when the database returns.

The PostgreSQL server here is the test's own (``tests/support/postgres_instance.py``: initdb
on a temporary directory and a free port), stopped with ``pg_ctl stop -m immediate`` as in a
crash; the shared server on 5432 is never touched, whatever ``VOUCH_TEST_DB`` says.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from app.core.db import make_engine, upgrade
from tests.conftest import Actors, state_counts
from tests.functional.helpers import assert_problem, publish, sha256
from tests.support.postgres_instance import PostgresInstance
from tests.support.server import RunningServer
from tests.unit.signing.gpg_keys import GeneratedKey, Keyring

RECOVERY_BOUND = 60.0  # seconds; generous, only a ceiling for polling


@pytest.fixture(scope="module")
def key(keyring: Keyring) -> GeneratedKey:
    # Backdated: the server's clock starts with the test, and gpg refuses "future" keys.
    return keyring.make("Olga <olga@example.test>", faked=datetime.now(UTC) - timedelta(days=1))


@pytest.fixture
def postgres() -> Iterator[PostgresInstance]:
    with PostgresInstance.create() as instance:
        yield instance


@pytest.fixture
def database_url(postgres: PostgresInstance) -> str:
    """Overrides conftest's: the registry runs on the private server, migrated."""
    engine = make_engine(postgres.url)
    upgrade(engine)
    engine.dispose()
    return postgres.url


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    # Signed publishing (the production default). No metadata cache: every read asks the
    # database, as a first read of a document (or a read on another replica) does.
    return {"default_signature_policy": "gpg", "metadata_cache_ttl": timedelta(0)}


@pytest.fixture
def olga(actors: Actors, keyring: Keyring, key: GeneratedKey) -> httpx.Client:
    client = actors.client(actors.user("olga"))
    body = {"armored": key.public}
    challenge = client.get("/api/v1/gpg-keys/challenge")
    if challenge.status_code == 200:  # proof of possession, where the registry asks for it
        text = challenge.json()["challenge"]
        body |= {"challenge": text,
                 "signature": keyring.sign(key.fingerprint, text.encode()).decode()}
    response = client.post("/api/v1/gpg-keys", json=body)
    assert response.status_code == 201, response.text
    return client


def _signed_publish(client: httpx.Client, keyring: Keyring, key: GeneratedKey, version: str,
                    data: bytes) -> httpx.Response:
    signature = keyring.sign(key.fingerprint, data)
    return publish(client, "outage-pkg", version, data,
                   gpg_signature=("artifact.asc", signature, "application/pgp-signature"))


def _files_under(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


def _assert_unavailable(response: httpx.Response, postgres: PostgresInstance) -> None:
    body = assert_problem(response, 503, "database_unavailable")
    assert int(response.headers["Retry-After"]) > 0
    # Nothing of the driver's message or the connection URL reaches the caller.
    for secret in (str(postgres.port), "127.0.0.1", "psycopg", "postgres", "OperationalError",
                   "refused"):
        assert secret not in response.text, (secret, body)


def _wait_until_ready(client: httpx.Client) -> httpx.Response:
    deadline = time.monotonic() + RECOVERY_BOUND
    while True:
        response = client.get("/readyz")
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def test_a_database_outage_is_a_503_and_the_registry_recovers_without_a_restart(
        server: RunningServer, actors: Actors, olga: httpx.Client, keyring: Keyring,
        key: GeneratedKey, postgres: PostgresInstance) -> None:
    data = b"outage-pkg 1.0.0, signed"
    assert _signed_publish(olga, keyring, key, "1.0.0", data).status_code == 201
    anonymous = actors.client()
    assert anonymous.get("/readyz").json() == {"status": "ready"}
    assert anonymous.get("/api/v1/packages/outage-pkg").status_code == 200
    before = state_counts(server)
    data_dir = server.registry.settings.data_dir
    files_before = _files_under(data_dir / "blobs")

    postgres.stop()  # immediate: connections in the pool are cut, as in a crash

    reads = ["/api/v1/packages/outage-pkg", "/api/v1/packages/outage-pkg/versions/1.0.0",
             "/api/v1/packages/outage-pkg/versions/1.0.0/artifact",
             "/api/v1/packages/never-read"]
    for path in reads:
        _assert_unavailable(anonymous.get(path), postgres)
    new_data = b"outage-pkg 1.0.1, published while the database is down"
    _assert_unavailable(_signed_publish(olga, keyring, key, "1.0.1", new_data), postgres)
    _assert_unavailable(anonymous.get("/readyz"), postgres)
    assert anonymous.get("/healthz").status_code == 200
    # The refused publish left nothing: no blob, no staged upload, no temporary blob.
    assert _files_under(data_dir / "blobs") == files_before
    assert not server.registry.blobs.exists(sha256(new_data))
    assert _files_under(data_dir / "staging") == []

    postgres.start()

    assert _wait_until_ready(anonymous).json() == {"status": "ready"}
    assert anonymous.get("/api/v1/packages/outage-pkg").status_code == 200
    download = anonymous.get("/api/v1/packages/outage-pkg/versions/1.0.0/artifact")
    assert download.status_code == 200 and download.content == data
    assert _signed_publish(olga, keyring, key, "1.0.1", new_data).status_code == 201
    after = state_counts(server)
    assert (after.versions, after.blob_files) == (before.versions + 1, before.blob_files + 1)
    assert _files_under(data_dir / "staging") == []


def test_readiness_follows_the_database_while_liveness_does_not(
        server: RunningServer, actors: Actors, postgres: PostgresInstance) -> None:
    anonymous = actors.client()
    for _ in range(2):  # down and up twice: no state sticks between outages
        assert anonymous.get("/readyz").json() == {"status": "ready"}
        postgres.stop()
        _assert_unavailable(anonymous.get("/readyz"), postgres)
        assert anonymous.get("/healthz").json() == {"status": "ok"}
        postgres.start()
        assert _wait_until_ready(anonymous).status_code == 200
