"""Plain artifact downloads take a fast path (app/publishing/fast_downloads.py): one query on a
connection of its own per process. These tests hold it to the routed path's answers and to the
security state: whatever a write changed, on this replica or another, applies to the very next
download; every GET 200 is counted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import text

from app.core.config import Settings
from tests.conftest import Actors
from tests.functional.helpers import assert_problem, publish
from tests.support.server import RunningServer, running_registry

SAME_HEADERS = ("etag", "repr-digest", "cache-control", "x-checksum-sha512",
                "content-disposition", "content-type", "last-modified", "accept-ranges")


@pytest.fixture
def replica(settings: Settings, actors: Actors) -> Iterator[RunningServer]:
    """A second registry process's worth of state (engine, caches, download lookup) on the same
    database and blob directory, as a second `vouch serve` replica would be."""
    with running_registry(settings, actors.server.clock) as other:
        yield other


def _path(name: str, version: str = "1.0.0") -> str:
    return f"/api/v1/packages/{name}/versions/{version}/artifact"


def test_fast_answers_match_the_routed_path(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    data = b"fast path bytes " * 64
    assert publish(alice, "fastpkg", "1.0.0", data).status_code == 201
    anonymous = actors.client()
    fast = anonymous.get(_path("fastpkg"))
    # A Range request always takes the routed path (FileResponse with the open handle).
    routed = anonymous.get(_path("fastpkg"), headers={"Range": f"bytes=0-{len(data) - 1}"})
    assert fast.status_code == 200 and routed.status_code == 206
    assert fast.content == routed.content == data
    assert int(fast.headers["content-length"]) == len(data)
    for header in SAME_HEADERS:
        assert fast.headers[header] == routed.headers[header], header
    head = anonymous.head(_path("fastpkg"))
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(data))
    not_modified = anonymous.get(_path("fastpkg"), headers={"If-None-Match": fast.headers["etag"]})
    assert not_modified.status_code == 304 and not_modified.content == b""
    # Unknown names and versions are the routed path's problem documents.
    assert_problem(anonymous.get(_path("nosuchpkg")), 404, "package_not_found")
    assert_problem(anonymous.get(_path("fastpkg", "9.9.9")), 404, "version_not_found")


def test_every_get_is_counted(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "counted", "1.0.0", b"count me").status_code == 201
    anonymous = actors.client()
    for _ in range(7):
        assert anonymous.get(_path("counted")).status_code == 200
    assert anonymous.head(_path("counted")).status_code == 200  # a HEAD is no download
    etag = anonymous.get(_path("counted")).headers["etag"]
    assert anonymous.get(_path("counted"), headers={"If-None-Match": etag}).status_code == 304
    actors.server.registry.downloads.flush()
    with actors.server.registry.engine.connect() as conn:
        count = conn.execute(text(
            "SELECT v.downloads FROM package_versions v JOIN packages p ON p.id = v.package_id "
            "WHERE p.name = 'counted' AND v.version = '1.0.0'")).scalar_one()
    assert count == 8


def test_an_unpublish_on_one_replica_applies_to_the_next_download_on_another(
        actors: Actors, replica: RunningServer) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "gone", "1.0.0", b"soon gone").status_code == 201
    with httpx.Client(base_url=replica.url, timeout=30) as other:
        for _ in range(3):  # the other replica has served it (and warmed whatever it keeps)
            assert other.get(_path("gone")).content == b"soon gone"
        assert alice.delete("/api/v1/packages/gone/versions/1.0.0").status_code == 204
        assert_problem(other.get(_path("gone")), 410, "version_unpublished")
        assert other.head(_path("gone")).status_code == 410
    assert_problem(actors.client().get(_path("gone")), 410, "version_unpublished")


def test_a_quarantine_written_by_anyone_applies_to_the_next_download(
        actors: Actors, replica: RunningServer) -> None:
    """The quarantine is written straight into the database (as another replica, the worker
    or an operator's SQL would): no invalidation callback of either process runs."""
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "held", "1.0.0", b"held bytes").status_code == 201
    servers = [actors.client(), httpx.Client(base_url=replica.url, timeout=30)]
    for client in servers:
        assert client.get(_path("held")).status_code == 200

    def set_quarantine(at: datetime | None, package_status: str) -> None:
        with actors.server.registry.engine.begin() as conn:
            conn.execute(text(
                "UPDATE package_versions SET quarantined_at = :at, quarantine_reason = :why "
                "WHERE package_id = (SELECT id FROM packages WHERE name = 'held')"),
                {"at": at, "why": "test" if at else None})
            conn.execute(text("UPDATE packages SET status = :s WHERE name = 'held'"),
                         {"s": package_status})

    set_quarantine(datetime.now(UTC), "active")
    for client in servers:
        assert_problem(client.get(_path("held")), 403, "version_quarantined")
    set_quarantine(None, "quarantined")  # the whole package
    for client in servers:
        assert_problem(client.get(_path("held")), 403, "version_quarantined")
    set_quarantine(None, "active")
    for client in servers:
        assert client.get(_path("held")).content == b"held bytes"
    servers[1].close()
