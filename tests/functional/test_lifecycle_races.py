"""Races around unpublish, with real concurrency against the real server (issue 10).

Every version is GPG-signed (the production default refuses unsigned publishes). Each test runs
many rounds; after every round it checks what a client would see: a 201 means the bytes are
downloadable (200, right sha256) until that version is unpublished, nothing answers 500, and a
download is a 200 with the whole body or a 410 problem+json, never a cut-off response.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

import httpx
import pytest
from sqlmodel import func, select

from app.core.clock import ManualClock, SystemClock
from app.core.config import Settings
from app.core.db import session_scope
from app.core.models import AuditEvent
from app.publishing.sweep import sweep_orphans
from tests.conftest import Actors, state_counts
from tests.functional.helpers import assert_problem, sha256
from tests.functional.signed_publish import GpgPublisher, make_key
from tests.support.server import RunningServer, running_registry
from tests.unit.signing.gpg_keys import GeneratedKey, Keyring

SHARED_BLOB_ROUNDS = 50
UNPUBLISH_ROUNDS = 30
DOWNLOAD_ROUNDS = 20
DOWNLOADERS = 6
LARGE = 4 * 1024 * 1024


@pytest.fixture(scope="module")
def gpg_key(keyring: Keyring) -> GeneratedKey:
    return make_key(keyring, "Racer <racer@example.test>")


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"default_signature_policy": "gpg", "max_upload_bytes": 2 * LARGE}


@pytest.fixture
def alice(actors: Actors, keyring: Keyring, gpg_key: GeneratedKey) -> GpgPublisher:
    return GpgPublisher.register(actors, keyring, gpg_key, "alice")


def _together(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released at the same instant; return their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def _stagger(round_: int) -> float:
    """How long the unpublish waits after the publishes start: swept over the rounds, so the
    unpublish lands at different points of a publish (before, during and after its upload and
    its transaction). Orchestration only; nothing asserts on time."""
    return (round_ % 10) * 0.006


def _status(response: httpx.Response) -> tuple[int, str]:
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        return response.status_code, response.json()["code"]
    return response.status_code, ""


def _assert_serves(client: httpx.Client, name: str, version: str, data: bytes) -> None:
    response = client.get(f"/api/v1/packages/{name}/versions/{version}/artifact")
    assert response.status_code == 200, (name, version, response.text)
    assert sha256(response.content) == sha256(data), (name, version)


def test_unpublish_racing_publishes_of_the_same_bytes_never_loses_them(
        actors: Actors, alice: GpgPublisher) -> None:
    """Content addressing makes shared blobs normal: unpublishing version A while other
    versions upload the same bytes must never delete what those 201s promised."""
    token, reader = alice.token, actors.client()
    published: list[tuple[str, str, bytes]] = []
    for r in range(SHARED_BLOB_ROUNDS):
        data = f"shared bytes, round {r}".encode() * 50
        signature = alice.signature(data)
        version = f"1.0.{r}"
        assert alice.publish("a", version, data, signature=signature).status_code == 201

        def unpublish(v: str = version, delay: float = _stagger(r)) -> httpx.Response:
            with actors.client(token) as client:
                time.sleep(delay)
                return client.delete(f"/api/v1/packages/a/versions/{v}")

        def republish(name: str, v: str = version, d: bytes = data,
                      s: bytes = signature) -> httpx.Response:
            with actors.client(token) as client:
                return alice.publish(name, v, d, client=client, signature=s)

        results = _together(unpublish, lambda: republish("b"), lambda: republish("c"),
                            lambda: republish("d"))
        assert [_status(x) for x in results] == [(204, "")] + [(201, "")] * 3, \
            (r, [x.text for x in results])
        published += [(name, version, data) for name in ("b", "c", "d")]
        assert_problem(reader.get(f"/api/v1/packages/a/versions/{version}/artifact"), 410,
                       "version_unpublished")
        for name, v, d in published[-3:]:
            _assert_serves(reader, name, v, d)
    for name, v, d in published:  # nothing a later round did took earlier bytes away
        _assert_serves(reader, name, v, d)
    assert state_counts(actors.server).blob_files == SHARED_BLOB_ROUNDS


def test_publish_racing_unpublish_of_the_only_other_user_of_the_bytes(
        actors: Actors, alice: GpgPublisher) -> None:
    """The other order: B publishes first, then A (same bytes) is unpublished while C (same
    bytes again) uploads; after the round B and C serve, and unpublishing B then C releases
    the bytes only at the last reference."""
    token, reader = alice.token, actors.client()
    for r in range(SHARED_BLOB_ROUNDS // 2):
        data = f"three users, round {r}".encode() * 40
        signature = alice.signature(data)
        version = f"2.0.{r}"
        for name in ("a", "b"):
            assert alice.publish(name, version, data, signature=signature).status_code == 201

        def unpublish(name: str, v: str = version, delay: float = _stagger(r)) -> httpx.Response:
            with actors.client(token) as client:
                time.sleep(delay)
                return client.delete(f"/api/v1/packages/{name}/versions/{v}")

        def publish_c(v: str = version, d: bytes = data, s: bytes = signature) -> httpx.Response:
            with actors.client(token) as client:
                return alice.publish("c", v, d, client=client, signature=s)

        results = _together(lambda: unpublish("a"), lambda: unpublish("b"), publish_c)
        assert [x.status_code for x in results] == [204, 204, 201], [x.text for x in results]
        _assert_serves(reader, "c", version, data)
        assert alice.client.delete(f"/api/v1/packages/c/versions/{version}").status_code == 204
        assert sha256(data) not in set(actors.server.registry.blobs.keys())
    assert state_counts(actors.server).blob_files == 0


def _unpublish_events(server: RunningServer, version: str) -> int:
    with session_scope(server.registry.engine) as session:
        return session.exec(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "version:unpublish", AuditEvent.version == version)).one()


def test_concurrent_unpublishes_of_one_version_one_wins(actors: Actors,
                                                        alice: GpgPublisher) -> None:
    token = alice.token
    for r in range(UNPUBLISH_ROUNDS):
        version = f"3.0.{r}"
        assert alice.publish("pkg", version, f"once {r}".encode()).status_code == 201

        def unpublish(v: str = version) -> httpx.Response:
            with actors.client(token) as client:
                return client.delete(f"/api/v1/packages/pkg/versions/{v}")

        results = _together(*[unpublish] * 5)
        assert sorted(_status(x) for x in results) == \
            [(204, "")] + [(410, "version_unpublished")] * 4, [x.text for x in results]
        assert _unpublish_events(actors.server, version) == 1
    assert state_counts(actors.server).blob_files == 0


def _download(url: str, path: str, expected: bytes, started: threading.Event) -> str:
    """One download, read to the end; returns "200" (whole, right body) or "410"."""
    with httpx.Client(base_url=url, timeout=60) as client, client.stream("GET", path) as response:
        if response.status_code == 200:
            started.set()
            body = response.read()
            assert len(body) == len(expected), f"cut off at {len(body)} of {len(expected)}"
            assert hashlib.sha256(body).digest() == hashlib.sha256(expected).digest()
            return "200"
        response.read()
        assert_problem(response, 410, "version_unpublished")
        return "410"


Fetch = Callable[[threading.Event], str]


def _race_downloads(server: RunningServer, alice: GpgPublisher,
                    check: Callable[[str, bytes], Fetch]) -> dict[str, int]:
    """Per round: a 4 MiB version; downloaders fetch it again and again until they get a 410,
    while the unpublish starts once a download is under way. Returns the outcomes seen."""
    seen: dict[str, int] = {"200": 0, "410": 0}
    for r in range(DOWNLOAD_ROUNDS):
        data = hashlib.sha256(str(r).encode()).digest() * (LARGE // 32)
        version = f"4.0.{r}"
        assert alice.publish("big", version, data).status_code == 201
        started = threading.Event()
        fetch = check(version, data)

        def unpublish(v: str = version, ev: threading.Event = started) -> list[str]:
            ev.wait(timeout=30)  # at least one download is mid-body (or done) by now
            with httpx.Client(base_url=server.url, timeout=60,
                              headers={"Authorization": f"Bearer {alice.token}"}) as client:
                response = client.delete(f"/api/v1/packages/big/versions/{v}")
            assert response.status_code == 204, response.text
            return []

        def download_until_gone(ev: threading.Event = started, get: Fetch = fetch) -> list[str]:
            outcomes: list[str] = []
            while len(outcomes) < 200 and "410" not in outcomes:
                outcomes.append(get(ev))
            return outcomes

        for outcomes in _together(unpublish, *[download_until_gone] * DOWNLOADERS):
            for outcome in outcomes:
                seen[outcome] += 1
    return seen


def test_downloads_racing_an_unpublish_are_whole_or_410(actors: Actors,
                                                        alice: GpgPublisher) -> None:
    def check(version: str, data: bytes) -> Fetch:
        path = f"/api/v1/packages/big/versions/{version}/artifact"
        return lambda started: _download(actors.server.url, path, data, started)

    seen = _race_downloads(actors.server, alice, check)
    assert seen["200"] >= DOWNLOAD_ROUNDS  # each round had a download mid-body
    assert seen["410"] == DOWNLOAD_ROUNDS * DOWNLOADERS  # every downloader saw it go
    assert state_counts(actors.server).blob_files == 0


def test_proxied_downloads_racing_an_unpublish_are_200_with_bytes_there_or_410(
        actors: Actors, settings: Settings, clock: ManualClock, keyring: Keyring,
        gpg_key: GeneratedKey) -> None:
    """Behind nginx (X-Accel-Redirect) the app answers only after it opened the bytes."""
    settings.accel_redirect_prefix = "/_blobs"
    with running_registry(settings, clock) as server:
        proxied = dataclasses.replace(actors, server=server)
        alice = GpgPublisher.register(proxied, keyring, gpg_key, "alice")

        def check(version: str, data: bytes) -> Fetch:
            path = f"/api/v1/packages/big/versions/{version}/artifact"

            def fetch(started: threading.Event) -> str:
                with httpx.Client(base_url=server.url, timeout=60) as client:
                    response = client.get(path)
                if response.status_code == 200:
                    started.set()
                    digest = sha256(data)
                    assert response.headers["x-accel-redirect"] == \
                        f"/_blobs/{digest[:2]}/{digest[2:4]}/{digest}"
                    return "200"
                assert_problem(response, 410, "version_unpublished")
                return "410"
            return fetch

        seen = _race_downloads(server, alice, check)
        assert seen["410"] == DOWNLOAD_ROUNDS * DOWNLOADERS
        assert server.registry.blobs.keys() == []


def test_a_download_that_finds_the_bytes_gone_answers_410_not_500(
        actors: Actors, alice: GpgPublisher, tmp_path: Path) -> None:
    """Deterministic form of the in-flight race: the version row says live when the request
    reads it, the bytes are already gone when it opens them (an unpublish committed in
    between). The hook runs the real unpublish over HTTP at that instant; nothing is faked."""
    data = b"opened too late"
    assert alice.publish("late", "1.0.0", data).status_code == 201
    blobs = actors.server.registry.blobs
    original_open = blobs.open
    unpublished = threading.Event()

    def open_after_unpublish(digest: str) -> BinaryIO:
        if not unpublished.is_set():
            unpublished.set()
            with actors.client(alice.token) as client:
                assert client.delete("/api/v1/packages/late/versions/1.0.0").status_code == 204
        return original_open(digest)

    blobs.open = open_after_unpublish  # type: ignore[method-assign,assignment]
    try:
        with actors.client() as reader:
            assert_problem(reader.get("/api/v1/packages/late/versions/1.0.0/artifact"), 410,
                           "version_unpublished")
    finally:
        blobs.open = original_open  # type: ignore[method-assign]


def test_downloads_from_the_open_handle_keep_ranges_head_and_etags(actors: Actors,
                                                                   alice: GpgPublisher) -> None:
    """The response that streams an already-open blob still answers Range, HEAD and
    If-None-Match as the path-based one did."""
    data = bytes(range(256)) * 64
    assert alice.publish("ranged", "1.0.0", data).status_code == 201
    url = "/api/v1/packages/ranged/versions/1.0.0/artifact"
    with actors.client() as reader:
        whole = reader.get(url)
        assert whole.status_code == 200 and whole.content == data
        assert whole.headers["content-length"] == str(len(data))
        assert whole.headers["etag"] == f'"{sha256(data)}"'
        part = reader.get(url, headers={"Range": "bytes=100-199"})
        assert part.status_code == 206 and part.content == data[100:200]
        assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
        head = reader.head(url)
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == str(len(data))
        cached = reader.get(url, headers={"If-None-Match": whole.headers["etag"]})
        assert cached.status_code == 304


def test_sweep_racing_a_publish_that_reuses_orphaned_bytes(actors: Actors,
                                                           alice: GpgPublisher,
                                                           tmp_path: Path) -> None:
    """Bytes left in storage with no live reference (a crash, an unpublish) are what the sweep
    removes; a publish of the same bytes at that moment finds them stored (``put_file`` says
    "exists") and must still end with them stored. The sweep runs with no age margin here,
    over and over while the publish is in flight."""
    registry = actors.server.registry
    reader = actors.client()
    for r in range(SHARED_BLOB_ROUNDS // 2):
        data = f"orphaned, then reused, round {r}".encode() * 40
        signature = alice.signature(data)
        (tmp_path / "orphan").write_bytes(data)
        registry.blobs.put_file(sha256(data), tmp_path / "orphan")  # left by a crash
        version = f"5.0.{r}"

        done = threading.Event()

        def publish(v: str = version, d: bytes = data, s: bytes = signature,
                    ev: threading.Event = done) -> int:
            try:
                with actors.client(alice.token) as client:
                    return alice.publish("reuse", v, d, client=client,
                                         signature=s).status_code
            finally:
                ev.set()

        def sweep(ev: threading.Event = done) -> int:
            sweeps = 0
            while not ev.is_set():  # sweep again and again for the publish's whole life
                sweep_orphans(registry.engine, registry.blobs, SystemClock(),
                              min_age=timedelta(0))
                sweeps += 1
            return sweeps

        status, _ = _together(publish, sweep)
        assert status == 201
        _assert_serves(reader, "reuse", version, data)
    assert sweep_orphans(registry.engine, registry.blobs, SystemClock(),
                         min_age=timedelta(0)) == []
    assert state_counts(actors.server).blob_files == SHARED_BLOB_ROUNDS // 2


def test_a_restart_settles_bytes_a_crash_left_set_aside(actors: Actors, alice: GpgPublisher,
                                                        settings: Settings,
                                                        clock: ManualClock) -> None:
    """``kill -9`` between "set aside" and "purge"/"restore" leaves bytes in ``.aside``: the
    next start puts back what a live version needs and purges the rest."""
    kept, dropped = b"live version's bytes", b"unpublished version's bytes"
    assert alice.publish("crash", "1.0.0", kept).status_code == 201
    assert alice.publish("crash", "1.0.1", dropped).status_code == 201
    assert alice.client.delete("/api/v1/packages/crash/versions/1.0.1").status_code == 204
    blobs = actors.server.registry.blobs
    # The state a crash leaves: the live version's bytes set aside by an unpublish whose
    # transaction never committed, the unpublished version's never purged.
    assert blobs.set_aside(sha256(kept)) is not None
    staged = settings.data_dir / "dropped"
    staged.write_bytes(dropped)
    blobs.put_file(sha256(dropped), staged)
    assert blobs.set_aside(sha256(dropped)) is not None
    assert blobs.keys() == [] and len(blobs.set_aside_handles()) == 2

    with running_registry(settings, clock) as restarted, httpx.Client(
            base_url=restarted.url) as reader:
        assert restarted.registry.blobs.keys() == [sha256(kept)]
        assert restarted.registry.blobs.set_aside_handles() == []
        assert reader.get("/api/v1/packages/crash/versions/1.0.0/artifact").content == kept
        assert_problem(reader.get("/api/v1/packages/crash/versions/1.0.1/artifact"), 410,
                       "version_unpublished")
