"""The database decides races: concurrent publishes of one version give one 201, and what a
201 promised stays downloadable. Every publish is GPG-signed (the production default)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import Actors, state_counts
from tests.functional.helpers import sha256
from tests.functional.signed_publish import GpgPublisher, make_key
from tests.unit.signing.gpg_keys import GeneratedKey, Keyring

SAME_BYTES_ROUNDS = 20


@pytest.fixture(scope="module")
def gpg_key(keyring: Keyring) -> GeneratedKey:
    return make_key(keyring, "Racer <racer@example.test>")


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"default_signature_policy": "gpg"}


@pytest.fixture
def alice(actors: Actors, keyring: Keyring, gpg_key: GeneratedKey) -> GpgPublisher:
    return GpgPublisher.register(actors, keyring, gpg_key, "alice")


def test_twenty_concurrent_publishes_of_the_same_version(actors: Actors,
                                                         alice: GpgPublisher) -> None:
    payloads = [(f"bytes {i}".encode(), alice.signature(f"bytes {i}".encode()))
                for i in range(20)]

    def attempt(i: int) -> tuple[int, str]:
        data, signature = payloads[i]
        with actors.client(alice.token) as client:
            response = alice.publish("racy", "1.0.0", data, client=client, signature=signature)
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
    assert winner["signer"]["method"] == "gpg" and winner["sha256"] == sha256(served)


def test_losers_of_a_race_with_the_same_bytes_never_remove_the_winners(
        actors: Actors, alice: GpgPublisher) -> None:
    """Issue 10: a loser that happened to store the bytes first deletes them on its way out
    (its compensating delete) while the winner, which reused them, commits: the winner's 201
    must still serve. Many rounds, eight publishers of identical bytes each."""
    reader = actors.client()
    for r in range(SAME_BYTES_ROUNDS):
        data = f"identical bytes, round {r}".encode() * 30
        signature = alice.signature(data)
        version = f"1.0.{r}"

        def attempt(_: int, v: str = version, d: bytes = data, s: bytes = signature) -> int:
            with actors.client(alice.token) as client:
                return alice.publish("same", v, d, client=client, signature=s).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = sorted(pool.map(attempt, range(8)))
        assert statuses == [201] + [409] * 7, (r, statuses)
        response = reader.get(f"/api/v1/packages/same/versions/{version}/artifact")
        assert response.status_code == 200, (r, response.text)
        assert sha256(response.content) == sha256(data)
    assert state_counts(actors.server).blob_files == SAME_BYTES_ROUNDS


def test_concurrent_first_publishes_of_one_new_package(actors: Actors,
                                                       alice: GpgPublisher) -> None:
    payloads = [(f"v{i}".encode(), alice.signature(f"v{i}".encode())) for i in range(10)]

    def attempt(i: int) -> int:
        data, signature = payloads[i]
        with actors.client(alice.token) as client:
            return alice.publish("fresh", f"1.0.{i}", data, client=client,
                                 signature=signature).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        assert list(pool.map(attempt, range(10))) == [201] * 10
    versions = actors.client().get("/api/v1/packages/fresh").json()["versions"]
    assert len(versions) == 10
