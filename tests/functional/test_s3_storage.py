"""Artifacts in S3 (issue 16), over real HTTP against a real S3 API on loopback (moto's server
mode, a fresh bucket per test): publish, download (proxy and redirect), unpublish, two
replicas on one bucket, and an outage of the S3 endpoint. Every publish is signed.

moto never checks a presigned URL's expiry or signature; ``tests.support.presign`` checks the
registry's URLs as S3 would (see its docstring).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import func, select

from app.core.clock import ManualClock
from app.core.config import Settings
from app.core.db import session_scope
from app.core.models import AuditEvent, PackageBlob, PackageVersion
from client.api import RegistryClient
from client.config import ClientConfig
from client.errors import IntegrityError
from tests.conftest import Actors
from tests.functional.clihelp import cli_env, vouch
from tests.functional.helpers import assert_problem, publish, sha256
from tests.support.databases import DatabaseFactory
from tests.support.moto_s3 import CREDENTIALS, MotoS3
from tests.support.presign import PresignRefused, check_presigned, signed_at
from tests.support.server import RunningServer, running_registry
from tests.support.signers import SessionSigning, SigningClient

DATA = bytes(range(256)) * 1200 + b"end"  # 300 KiB: above the fast path's small-body size


@pytest.fixture
def settings_overrides(moto_s3: MotoS3, request: pytest.FixtureRequest) -> dict[str, object]:
    """Every server of this module stores blobs in a new bucket of the session's moto."""
    return moto_s3.overrides(**getattr(request, "param", {}))


def redirect_mode(**extra: object) -> Any:
    return pytest.mark.parametrize("settings_overrides", [{"download_mode": "redirect",
                                                           **extra}], indirect=True)


def _object_keys(moto_s3: MotoS3, bucket: str) -> list[str]:
    listed = moto_s3.client().list_objects_v2(Bucket=bucket).get("Contents", [])
    return sorted(str(item["Key"]) for item in listed)


def _artifact(name: str, version: str = "1.0.0") -> str:
    return f"/api/v1/packages/{name}/versions/{version}/artifact"


def _rows(server: RunningServer) -> tuple[int, int, int]:
    """(versions, blob rows, audit events): what a refused publish must not add."""
    with session_scope(server.registry.engine) as session:
        return (session.exec(select(func.count()).select_from(PackageVersion)).one(),
                session.exec(select(func.count()).select_from(PackageBlob)).one(),
                session.exec(select(func.count()).select_from(AuditEvent)).one())


def _downloads(server: RunningServer, name: str) -> int:
    server.registry.downloads.flush()
    with session_scope(server.registry.engine) as session:
        return sum(session.exec(select(PackageVersion.downloads)).all())


# -- publish, download, unpublish ---------------------------------------------------------------
def test_publish_download_unpublish_on_s3(actors: Actors, settings: Settings,
                                          moto_s3: MotoS3) -> None:
    token = actors.user("alice")
    client = actors.client(token)
    published = publish(client, "left-pad", "1.0.0", DATA)
    assert published.status_code == 201, published.text
    digest = sha256(DATA)
    assert settings.s3_bucket is not None
    assert _object_keys(moto_s3, settings.s3_bucket) == [f"{digest[:2]}/{digest[2:4]}/{digest}"]
    assert not (settings.data_dir / "blobs").exists() or not any(
        (settings.data_dir / "blobs").glob("??/??/*"))

    answer = client.get(_artifact("left-pad"))
    assert answer.status_code == 200 and answer.content == DATA
    assert answer.headers["content-length"] == str(len(DATA))
    assert answer.headers["etag"] == f'"{digest}"'

    assert client.delete("/api/v1/packages/left-pad/versions/1.0.0").status_code == 204
    assert _object_keys(moto_s3, settings.s3_bucket) == []  # purged, nothing set aside
    assert_problem(client.get(_artifact("left-pad")), 410, "version_unpublished")
    with session_scope(actors.server.registry.engine) as session:
        row = session.exec(select(PackageVersion)).one()
        assert row.unpublished_at is not None  # the record stays, the bytes are gone


@pytest.mark.parametrize("settings_overrides", [{"s3_multipart_threshold": 5 * 1024 * 1024,
                                                 "s3_part_size": 5 * 1024 * 1024,
                                                 "max_upload_bytes": 16 * 1024 * 1024}],
                         indirect=True)
def test_large_artifacts_go_up_as_multipart_uploads(actors: Actors, settings: Settings,
                                                     moto_s3: MotoS3) -> None:
    data = (bytes(range(256)) * (24 * 1024 + 1))[:6 * 1024 * 1024 + 7]
    client = actors.client(actors.user("alice"))
    assert publish(client, "big", "1.0.0", data).status_code == 201
    digest = sha256(data)
    raw = moto_s3.client()
    head = raw.head_object(Bucket=settings.s3_bucket, Key=f"{digest[:2]}/{digest[2:4]}/{digest}")
    assert head["ETag"].strip('"').endswith("-2")  # 5 MiB parts: one full, one partial
    assert raw.list_multipart_uploads(Bucket=settings.s3_bucket).get("Uploads", []) == []
    whole = client.get(_artifact("big"))
    assert whole.status_code == 200 and sha256(whole.content) == digest
    tail = client.get(_artifact("big"), headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == data[-10:]


# -- proxy mode: the same answers as from disk ------------------------------------------------
@pytest.fixture
def disk_server(db_factory: DatabaseFactory, settings: Settings, clock: ManualClock,
                tmp_path: Path) -> Iterator[RunningServer]:
    """A filesystem-backed registry with a database of its own, to compare answers with."""
    with db_factory.fresh(tmp_path / "disk-db") as url:
        disk = settings.model_copy(update={"blob_store": "filesystem", "s3_bucket": None,
                                           "database_url": url, "data_dir": tmp_path / "disk"})
        with running_registry(disk, clock) as running:
            yield running


RANGES = [None, "bytes=10-19", "bytes=-5", "bytes=300000-", "bytes=0-1,100-101",
          "bytes=999999-", "bytes=abc"]
VARYING = {"date", "last-modified", "server", "content-type"}


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_proxy_downloads_answer_as_the_filesystem_does(
        actors: Actors, disk_server: RunningServer, session_signing: SessionSigning,
        method: str) -> None:
    """Same status, headers and bytes from S3 as from disk, range requests included (single,
    suffix, open-ended, several ranges, unsatisfiable, malformed)."""
    on_s3 = actors.client(actors.user("alice"))
    disk_actors = Actors(disk_server, session_signing)
    on_disk = disk_actors.client(disk_actors.user("alice"))
    for client in (on_s3, on_disk):
        assert publish(client, "widget", "1.0.0", DATA).status_code == 201
    for wanted in RANGES:
        headers = {"Range": wanted} if wanted else {}
        s3 = on_s3.request(method, _artifact("widget"), headers=headers)
        disk = on_disk.request(method, _artifact("widget"), headers=headers)
        assert s3.status_code == disk.status_code, wanted
        assert {k: v for k, v in s3.headers.items() if k not in VARYING} == {
            k: v for k, v in disk.headers.items() if k not in VARYING}, wanted
        # Several ranges: a multipart body with a random boundary; the rest byte for byte.
        if wanted and "," in wanted and method == "GET":
            assert s3.status_code == 206
            assert b"Content-Range: bytes 0-1/" in s3.content and DATA[100:102] in s3.content
        else:
            assert s3.content == disk.content, wanted
        assert s3.headers["content-type"].split(";")[0] == disk.headers[
            "content-type"].split(";")[0]
        assert "last-modified" in s3.headers or s3.status_code >= 400
    assert on_s3.get(_artifact("widget"), headers={"Range": "bytes=10-19"}).content == DATA[10:20]


# -- redirect mode ----------------------------------------------------------------------------
@redirect_mode()
def test_redirect_mode_answers_307_to_a_presigned_get_after_every_check(
        actors: Actors, settings: Settings, moto_s3: MotoS3) -> None:
    token = actors.user("alice")
    client = actors.client(token)
    assert publish(client, "left-pad", "1.0.0", DATA).status_code == 201
    anonymous = httpx.Client(base_url=actors.server.url)
    before = _downloads(actors.server, "left-pad")

    redirect = anonymous.get(_artifact("left-pad"))
    assert redirect.status_code == 307 and redirect.content == b""
    digest = sha256(DATA)
    assert redirect.headers["x-checksum-sha256"] == digest
    assert redirect.headers["repr-digest"] == client.head(_artifact("left-pad")).headers[
        "repr-digest"]
    assert redirect.headers["cache-control"] == "no-store"
    location = redirect.headers["location"]
    assert location.startswith(f"{moto_s3.url}/{settings.s3_bucket}/{digest[:2]}/")
    assert "X-Amz-Expires=900" in location  # 15 minutes by default
    assert "vouch-test-secret" not in location  # only the key id and a signature
    assert _downloads(actors.server, "left-pad") == before + 1  # the 307 counts, once

    # A query string takes the routed path (the fast path answers only plain GETs): the same
    # 307, counted the same.
    routed = anonymous.get(_artifact("left-pad") + "?via=routed")
    assert routed.status_code == 307
    assert {k: v for k, v in routed.headers.items() if k not in ("location", "date")} == {
        k: v for k, v in redirect.headers.items() if k not in ("location", "date")}
    assert routed.headers["location"].split("?")[0] == location.split("?")[0]
    assert _downloads(actors.server, "left-pad") == before + 2

    fetched = httpx.get(location)  # no token: the URL itself is the authorization
    assert fetched.status_code == 200 and fetched.content == DATA
    assert fetched.headers["content-disposition"] == 'attachment; filename="left-pad-1.0.0.tgz"'
    assert _downloads(actors.server, "left-pad") == before + 2  # S3's answer is not counted

    # HEAD is answered by the registry (a presigned GET does not sign a HEAD); not counted.
    head = anonymous.head(_artifact("left-pad"))
    assert head.status_code == 200 and head.headers["content-length"] == str(len(DATA))
    # Checks before any redirect: a bad token, an unpublished version, an unknown one.
    bad = httpx.get(actors.server.url + _artifact("left-pad"),
                    headers={"Authorization": "Bearer vouch_nonsense"})
    assert_problem(bad, 401, "invalid_token")
    assert "location" not in bad.headers
    assert_problem(anonymous.get(_artifact("left-pad", "9.9.9")), 404, "version_not_found")
    assert client.delete("/api/v1/packages/left-pad/versions/1.0.0").status_code == 204
    gone = anonymous.get(_artifact("left-pad"))
    assert_problem(gone, 410, "version_unpublished")
    assert "location" not in gone.headers
    assert _downloads(actors.server, "left-pad") == before + 2


@redirect_mode()
def test_quarantined_versions_are_not_redirected(actors: Actors) -> None:
    client = actors.client(actors.user("alice"))
    assert publish(client, "evil", "1.0.0", DATA).status_code == 201
    with session_scope(actors.server.registry.engine, write=True) as session:
        row = session.exec(select(PackageVersion)).one()
        row.quarantined_at = actors.server.clock.now()
        session.add(row)
    refused = httpx.get(actors.server.url + _artifact("evil"))
    assert_problem(refused, 403, "version_quarantined")
    assert "location" not in refused.headers


@redirect_mode()
def test_vouch_download_follows_the_redirect_and_verifies_the_digest(
        actors: Actors, tmp_path: Path) -> None:
    token = actors.user("alice")
    assert publish(actors.client(token), "left-pad", "1.0.0", DATA).status_code == 201
    env = cli_env(actors.server.url, token, tmp_path)
    done = vouch("download", "left-pad@1.0.0", "-o", str(tmp_path / "out.tgz"), env=env,
                 cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out.tgz").read_bytes() == DATA
    # The same client code with a digest the bytes do not have: refused, nothing cached.
    config = ClientConfig(registry=actors.server.url, token=None, cache_dir=tmp_path / "c2")
    with RegistryClient(config) as api, pytest.raises(IntegrityError):
        api.fetch_artifact(_artifact("left-pad"), hashlib.sha256(b"other").hexdigest())
    assert not list((tmp_path / "c2").rglob("artifacts/*/*"))


@redirect_mode(s3_presign_expiry="2s")
def test_presigned_urls_expire_as_configured(actors: Actors) -> None:
    """A short VOUCH_S3_PRESIGN_EXPIRY: the URL is signed for 2 s from its signing time; S3
    refuses it after that, and refuses it if the expiry in it is changed."""
    client = actors.client(actors.user("alice"))
    assert publish(client, "left-pad", "1.0.0", DATA).status_code == 201
    url = httpx.get(actors.server.url + _artifact("left-pad")).headers["location"]
    assert "X-Amz-Expires=2&" in url
    secret = CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
    at = signed_at(url)
    check_presigned(url, secret_key=secret, now=at + timedelta(seconds=2))
    assert httpx.get(url).content == DATA
    with pytest.raises(PresignRefused) as expired:
        check_presigned(url, secret_key=secret, now=at + timedelta(seconds=3))
    assert expired.value.code == "AccessDenied"
    with pytest.raises(PresignRefused) as forged:
        check_presigned(url.replace("X-Amz-Expires=2&", "X-Amz-Expires=604800&"),
                        secret_key=secret, now=at)
    assert forged.value.code == "SignatureDoesNotMatch"


# -- two replicas on one bucket ---------------------------------------------------------------
@pytest.fixture
def replica(settings: Settings, clock: ManualClock, tmp_path: Path) -> Iterator[RunningServer]:
    """A second app instance: same database, same bucket, its own data directory."""
    with running_registry(settings.model_copy(update={"data_dir": tmp_path / "replica"}),
                          clock) as running:
        yield running


def _concurrently(*calls: Any) -> list[httpx.Response]:
    barrier = threading.Barrier(len(calls))
    results: list[httpx.Response | None] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(result is not None for result in results)
    return [result for result in results if result is not None]


def test_two_replicas_publish_the_same_bytes_concurrently(
        actors: Actors, replica: RunningServer, settings: Settings, moto_s3: MotoS3) -> None:
    token = actors.user("alice")
    on_a = actors.client(token)
    on_b = SigningClient(signer=actors.signer(token), base_url=replica.url, timeout=30,
                         headers={"Authorization": f"Bearer {token}"})
    digest = sha256(DATA)
    assert settings.s3_bucket is not None
    # One version from both replicas at once: one 201, one 409, one object.
    answers = _concurrently(lambda: publish(on_a, "racy", "1.0.0", DATA),
                            lambda: publish(on_b, "racy", "1.0.0", DATA))
    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    assert {a.json().get("code") for a in answers if a.status_code == 409} == {"version_exists"}
    # Two versions with the same bytes at once: both 201, still one object for the digest.
    answers = _concurrently(lambda: publish(on_a, "twin", "1.0.0", DATA),
                            lambda: publish(on_b, "twin", "1.0.1", DATA))
    assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
    assert _object_keys(moto_s3, settings.s3_bucket) == [f"{digest[:2]}/{digest[2:4]}/{digest}"]
    for client in (on_a, on_b):
        for name, version in (("racy", "1.0.0"), ("twin", "1.0.0"), ("twin", "1.0.1")):
            answer = client.get(_artifact(name, version))
            assert answer.status_code == 200 and answer.content == DATA
    # An unpublish on one replica keeps the bytes the other versions still use.
    assert on_b.delete("/api/v1/packages/twin/versions/1.0.1").status_code == 204
    assert on_a.get(_artifact("twin")).content == DATA
    assert _object_keys(moto_s3, settings.s3_bucket) == [f"{digest[:2]}/{digest[2:4]}/{digest}"]


# -- an outage of the S3 endpoint -------------------------------------------------------------
def test_s3_outage_is_503_leaves_nothing_and_recovers_without_restart(
        settings: Settings, clock: ManualClock, session_signing: SessionSigning,
        tmp_path: Path) -> None:
    moto = MotoS3.start(tmp_path / "moto-outage")  # a server of its own, to stop and restart
    try:
        bucket = moto.new_bucket()
        own = settings.model_copy(update=moto.overrides(bucket))
        with running_registry(own, clock) as server:
            actors = Actors(server, session_signing)
            token = actors.user("alice")
            client = actors.client(token)
            assert publish(client, "kept", "1.0.0", b"stored before").status_code == 201
            kept_key = server.registry.blobs.keys()[0]
            kept_key = f"{kept_key[:2]}/{kept_key[2:4]}/{kept_key}"
            kept_body = moto.client().get_object(Bucket=bucket, Key=kept_key)["Body"].read()
            before = _rows(server)

            moto.stop()
            refused = publish(client, "during", "1.0.0", b"published in the outage")
            body = assert_problem(refused, 503, "storage_unavailable")
            assert refused.headers["retry-after"] == "5"
            assert "127.0.0.1" not in body["detail"] and bucket not in body["detail"]
            assert _rows(server) == before  # no version, no blob row, no audit event
            assert_problem(client.get(_artifact("kept")), 503, "storage_unavailable")
            assert_problem(client.delete("/api/v1/packages/kept/versions/1.0.0"), 503,
                           "storage_unavailable")
            assert _rows(server) == before
            assert client.get("/api/v1/packages/kept/versions/1.0.0").json()[
                "unpublished"] is False

            # The same endpoint comes back. moto keeps objects in memory only, so the test
            # puts back what durable storage would have kept: the bucket and the old object.
            moto.restart()
            moto.client().create_bucket(Bucket=bucket)
            moto.client().put_object(Bucket=bucket, Key=kept_key, Body=kept_body)
            assert client.get(_artifact("kept")).content == b"stored before"
            again = publish(client, "during", "1.0.0", b"published in the outage")
            assert again.status_code == 201, again.text
            assert client.get(_artifact("during")).content == b"published in the outage"
    finally:
        moto.stop()
