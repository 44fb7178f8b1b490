"""Issue 13's exactness rule across real replicas: a write through one `vouch serve` process
takes effect for the very next read through another, whatever that one has cached.

Two real server processes (``vouch serve``, each its own interpreter, engine, metadata cache
and download lookup) share the test's database (SQLite file, or PostgreSQL with
``VOUCH_TEST_DB=postgres``) and blob directory, as two replicas behind a load balancer do.
Replica B is warmed first (every document and artifact read several times, so whatever it
caches is filled), then replica A writes, then B is read exactly once per document: no
sleeping, no retrying, no waiting for a TTL. Covered writes: unpublish, deprecation, a
malicious advisory's quarantine and its release, an advisory publish, a new version, a token
revocation, and download counts (which B serves once they are written).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from app.accounts.tokens import display_prefix
from app.core.config import Settings
from tests.conftest import Actors
from tests.functional.helpers import assert_problem, publish
from tests.functional.test_advisories_fixtures import generic_advisory
from tests.support.signers import SigningClient
from tests.support.vouch_process import VouchProcess

BOUND = 60.0  # seconds: a ceiling for polling download counts, never an expectation


@dataclass
class Replicas:
    a: VouchProcess
    b: VouchProcess
    actors: Actors

    def client(self, replica: VouchProcess, token: str | None = None) -> SigningClient:
        """A client of ``replica`` acting with ``token`` (publishes signed by its user)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        assert replica.url is not None
        return SigningClient(signer=self.actors.signer(token), base_url=replica.url,
                             headers=headers, timeout=30)


@pytest.fixture
def replicas(actors: Actors, settings: Settings, tmp_path: Path) -> Iterator[Replicas]:
    env = {
        "VOUCH_DATA_DIR": str(settings.data_dir),
        "VOUCH_DATABASE_URL": settings.resolved_database_url,
        "VOUCH_ENVIRONMENT": "development",
        "VOUCH_DEFAULT_SIGNATURE_POLICY": settings.default_signature_policy,
        "VOUCH_SIGSTORE_TRUST": str(settings.sigstore_trust),
        "VOUCH_RUN_WORKER": "false",
        "VOUCH_DOWNLOAD_FLUSH_INTERVAL": "1s",
        # The product default (30 s): far longer than this test; nothing may wait it out.
        "VOUCH_METADATA_CACHE_TTL": "30s",
    }
    with VouchProcess.serve(env, log=tmp_path / "a.log") as a, \
            VouchProcess.serve(env, log=tmp_path / "b.log") as b:
        yield Replicas(a, b, actors)


def _doc(name: str, version: str | None = None) -> str:
    return f"/api/v1/packages/{name}" + (f"/versions/{version}" if version else "")


def _artifact(name: str, version: str) -> str:
    return f"/api/v1/packages/{name}/versions/{version}/artifact"


def _warm(client: httpx.Client, *paths: str) -> None:
    """Read every path three times (a cache fills on the first, serves the others)."""
    for _ in range(3):
        for path in paths:
            assert client.get(path).status_code == 200, path


def test_unpublish_through_a_applies_to_the_next_reads_through_b(replicas: Replicas) -> None:
    token = replicas.actors.user("alice")
    alice_a = replicas.client(replicas.a, token)
    assert publish(alice_a, "gone", "1.0.0", b"one").status_code == 201
    assert publish(alice_a, "gone", "1.1.0", b"one point one").status_code == 201
    b = replicas.client(replicas.b)
    _warm(b, _doc("gone"), _doc("gone", "1.1.0"), _artifact("gone", "1.1.0"))
    assert b.get(_doc("gone")).json()["latest"] == "1.1.0"

    assert alice_a.delete("/api/v1/packages/gone/versions/1.1.0").status_code == 204

    doc = b.get(_doc("gone", "1.1.0")).json()
    assert doc["unpublished"] is True and doc["artifact_url"] is None
    package = b.get(_doc("gone")).json()
    assert package["latest"] == "1.0.0"
    assert [(v["version"], v["unpublished"]) for v in package["versions"]] == [
        ("1.0.0", False), ("1.1.0", True)]
    assert_problem(b.get(_artifact("gone", "1.1.0")), 410, "version_unpublished")
    assert b.get(_artifact("gone", "1.0.0")).content == b"one"


def test_deprecation_through_a_applies_to_the_next_reads_through_b(
        replicas: Replicas) -> None:
    alice_a = replicas.client(replicas.a, replicas.actors.user("alice"))
    assert publish(alice_a, "old", "1.0.0", b"old bytes").status_code == 201
    b = replicas.client(replicas.b)
    _warm(b, _doc("old"), _doc("old", "1.0.0"))

    answer = alice_a.put("/api/v1/packages/old/versions/1.0.0/deprecation",
                         json={"message": "use new"})
    assert answer.status_code == 200, answer.text
    assert b.get(_doc("old", "1.0.0")).json()["deprecated"] == "use new"
    assert b.get(_doc("old")).json()["versions"][0]["deprecated"] == "use new"

    assert alice_a.delete("/api/v1/packages/old/versions/1.0.0/deprecation").status_code == 200
    assert b.get(_doc("old", "1.0.0")).json()["deprecated"] is None
    assert b.get(_artifact("old", "1.0.0")).content == b"old bytes"  # deprecated still serves


def test_quarantine_and_advisories_through_a_apply_to_the_next_reads_through_b(
        replicas: Replicas) -> None:
    alice_a = replicas.client(replicas.a, replicas.actors.user("alice"))
    for version in ("1.0.0", "2.0.0"):
        assert publish(alice_a, "evil", version, f"evil {version}".encode()).status_code == 201
    sec_a = replicas.client(replicas.a, replicas.actors.user("sec", security=True))
    b = replicas.client(replicas.b)
    paths = (_doc("evil"), _doc("evil", "1.0.0"), _doc("evil", "2.0.0"),
             _artifact("evil", "1.0.0"))
    _warm(b, *paths)

    fields = generic_advisory("evil", malicious=True, introduced="1.0.0", fixed="2.0.0",
                              summary="steals tokens")
    advisory = sec_a.post("/api/v1/advisories", json=fields).json()["id"]
    assert b.get(_doc("evil", "1.0.0")).json()["advisories"] == []  # a draft is not public
    assert sec_a.post(f"/api/v1/advisories/{advisory}/publish").status_code == 200
    assert [a["id"] for a in b.get(_doc("evil", "1.0.0")).json()["advisories"]] == [advisory]
    assert b.get(_doc("evil", "2.0.0")).json()["advisories"] == []
    _warm(b, *paths)

    report = sec_a.post(f"/api/v1/advisories/{advisory}/quarantine")
    assert report.status_code == 200, report.text
    assert b.get(_doc("evil", "1.0.0")).json()["quarantined"] is True
    assert [v["quarantined"] for v in b.get(_doc("evil")).json()["versions"]] == [True, False]
    assert_problem(b.get(_artifact("evil", "1.0.0")), 403, "version_quarantined")
    assert b.get(_artifact("evil", "2.0.0")).content == b"evil 2.0.0"

    assert sec_a.post(f"/api/v1/advisories/{advisory}/unquarantine").status_code == 200
    assert b.get(_doc("evil", "1.0.0")).json()["quarantined"] is False
    assert b.get(_artifact("evil", "1.0.0")).content == b"evil 1.0.0"

    withdrawn = sec_a.post(f"/api/v1/advisories/{advisory}/withdraw",
                           json={"reason": "a mistake"})
    assert withdrawn.status_code == 200, withdrawn.text
    assert b.get(_doc("evil", "1.0.0")).json()["advisories"] == []


def test_a_new_version_through_a_is_listed_by_the_next_read_through_b(
        replicas: Replicas) -> None:
    alice_a = replicas.client(replicas.a, replicas.actors.user("alice"))
    assert publish(alice_a, "growing", "1.0.0", b"first").status_code == 201
    b = replicas.client(replicas.b)
    _warm(b, _doc("growing"))
    assert publish(alice_a, "growing", "1.1.0", b"second").status_code == 201
    package = b.get(_doc("growing")).json()
    assert package["latest"] == "1.1.0"
    assert [v["version"] for v in package["versions"]] == ["1.0.0", "1.1.0"]


def test_a_token_revoked_through_a_is_refused_by_the_next_request_through_b(
        replicas: Replicas) -> None:
    token = replicas.actors.user("alice")
    alice_a = replicas.client(replicas.a, token)
    assert publish(alice_a, "tokpkg", "1.0.0", b"tok").status_code == 201
    spare = replicas.client(replicas.a, replicas.actors.token("alice"))
    with_token_b = replicas.client(replicas.b, token)
    _warm(with_token_b, _doc("tokpkg"), _doc("tokpkg", "1.0.0"), _artifact("tokpkg", "1.0.0"),
          "/api/v1/whoami")

    listed = spare.get("/api/v1/tokens").json()
    victim = [t["id"] for t in listed if t["prefix"] == display_prefix(token)]
    assert len(victim) == 1 and len(listed) == 2
    assert spare.delete(f"/api/v1/tokens/{victim[0]}").status_code == 204

    for path in (_doc("tokpkg"), _doc("tokpkg", "1.0.0"), _artifact("tokpkg", "1.0.0"),
                 "/api/v1/whoami"):
        assert_problem(with_token_b.get(path), 401, "invalid_token")
    # The same reads without the token still answer.
    assert replicas.client(replicas.b).get(_artifact("tokpkg", "1.0.0")).content == b"tok"


def test_downloads_through_b_are_counted_and_shown_by_both(replicas: Replicas) -> None:
    alice_a = replicas.client(replicas.a, replicas.actors.user("alice"))
    assert publish(alice_a, "popular", "1.0.0", b"pop").status_code == 201
    a, b = replicas.client(replicas.a), replicas.client(replicas.b)
    _warm(a, _doc("popular", "1.0.0"), _doc("popular"))
    _warm(b, _doc("popular", "1.0.0"), _doc("popular"))
    for _ in range(5):
        assert b.get(_artifact("popular", "1.0.0")).content == b"pop"
    assert b.head(_artifact("popular", "1.0.0")).status_code == 200  # a HEAD is no download

    def counted(client: httpx.Client) -> Callable[[], bool]:
        return lambda: (client.get(_doc("popular", "1.0.0")).json()["downloads"] == 5
                        and client.get(_doc("popular")).json()["downloads"] == 5)

    for client in (a, b):
        _eventually(counted(client), "the five downloads through B are in the documents")


def _eventually(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + BOUND
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {BOUND:.0f} s: {what}")
        time.sleep(0.1)


def test_a_write_straight_into_the_database_applies_to_the_next_read_through_b(
        replicas: Replicas) -> None:
    """An operator's SQL (no service, no process's callback) is seen too: the database raises
    the generation itself (migration 0011's triggers)."""
    alice_a = replicas.client(replicas.a, replicas.actors.user("alice"))
    assert publish(alice_a, "manual", "1.0.0", b"manual").status_code == 201
    b = replicas.client(replicas.b)
    _warm(b, _doc("manual"), _doc("manual", "1.0.0"))
    engine = replicas.actors.server.registry.engine
    with engine.begin() as conn:
        conn.execute(text("UPDATE package_versions SET deprecated = 'by hand', downloads = 7 "
                          "WHERE package_id = (SELECT id FROM packages WHERE name = 'manual')"))
    doc = b.get(_doc("manual", "1.0.0")).json()
    assert (doc["deprecated"], doc["downloads"]) == ("by hand", 7)
    with engine.begin() as conn:
        conn.execute(text("UPDATE packages SET status = 'quarantined' WHERE name = 'manual'"))
    assert b.get(_doc("manual")).json()["status"] == "quarantined"
    assert b.get(_doc("manual", "1.0.0")).json()["quarantined"] is True
    assert_problem(b.get(_artifact("manual", "1.0.0")), 403, "version_quarantined")
