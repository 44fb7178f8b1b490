"""The database decides races: 20 concurrent publishes of one version give one 201."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.conftest import Actors, state_counts
from tests.functional.helpers import publish


def test_twenty_concurrent_publishes_of_the_same_version(actors: Actors) -> None:
    token = actors.user("alice")

    def attempt(i: int) -> tuple[int, str]:
        with actors.client(token) as client:
            response = publish(client, "racy", "1.0.0", f"bytes {i}".encode())
            return response.status_code, response.json().get("code", "")

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(attempt, range(20)))
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * 19, results
    assert {code for status, code in results if status == 409} == {"version_exists"}
    counts = state_counts(actors.server)
    assert counts.versions == 1
    assert counts.blobs_rows == 1 and counts.blob_files == 1  # losers' blobs were removed
    winner = actors.client().get("/api/v1/packages/racy/versions/1.0.0").json()
    served = actors.client().get("/api/v1/packages/racy/versions/1.0.0/artifact").content
    assert served.startswith(b"bytes ") and winner["size"] == len(served)


def test_concurrent_first_publishes_of_one_new_package(actors: Actors) -> None:
    token = actors.user("alice")

    def attempt(i: int) -> int:
        with actors.client(token) as client:
            return publish(client, "fresh", f"1.0.{i}", f"v{i}".encode()).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        assert list(pool.map(attempt, range(10))) == [201] * 10
    versions = actors.client().get("/api/v1/packages/fresh").json()["versions"]
    assert len(versions) == 10
