"""The S3 store against a real S3 API (moto's server mode on loopback): what the storage itself
enforces (conditional writes, checksums, multipart), what happens when it cannot be reached,
and the clean-up of multipart uploads a dead process left (issue 16).

What moto does not enforce is said where it matters: it stores ``x-amz-checksum-sha256``
without verifying it, and never checks a presigned URL's expiry.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from sqlalchemy.engine import Engine

from app.core.clock import SystemClock
from app.core.db import make_engine
from app.publishing.sweep import sweep_orphans
from app.storage import BlobNotFound
from app.storage.errors import BlobCorrupted, StorageUnavailable
from app.storage.s3 import MIN_PART_SIZE, S3BlobStore
from tests.support.moto_s3 import REGION, MotoS3, free_port


@pytest.fixture
def store(moto_s3: MotoS3) -> S3BlobStore:
    return S3BlobStore(moto_s3.new_bucket(), prefix="vouch/blobs", endpoint_url=moto_s3.url,
                       region=REGION, multipart_threshold=MIN_PART_SIZE,
                       part_size=MIN_PART_SIZE)


@pytest.fixture
def raw(moto_s3: MotoS3) -> Any:
    """A plain boto3 client on the same server: to look at (or tamper with) the bucket."""
    return moto_s3.client()


def _staged(tmp_path: Path, data: bytes, name: str = "staged") -> tuple[str, Path]:
    path = tmp_path / name
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest(), path


def _uploads(raw: Any, bucket: str) -> list[dict[str, Any]]:
    return list(raw.list_multipart_uploads(Bucket=bucket).get("Uploads", []))


def test_moto_refuses_a_conditional_put_on_an_existing_key(raw: Any, moto_s3: MotoS3) -> None:
    """The premise of write-once on this test server: If-None-Match: * is honoured (412)."""
    bucket = moto_s3.new_bucket()
    raw.put_object(Bucket=bucket, Key="k", Body=b"first", IfNoneMatch="*")
    with pytest.raises(ClientError) as refused:
        raw.put_object(Bucket=bucket, Key="k", Body=b"second", IfNoneMatch="*")
    assert refused.value.response["Error"]["Code"] == "PreconditionFailed"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert raw.get_object(Bucket=bucket, Key="k")["Body"].read() == b"first"


def test_objects_are_content_addressed_under_the_prefix_with_their_sha256(
        store: S3BlobStore, raw: Any, tmp_path: Path) -> None:
    digest, path = _staged(tmp_path, b"left-pad 1.0.0")
    assert store.put_file(digest, path) is True
    key = f"vouch/blobs/{digest[:2]}/{digest[2:4]}/{digest}"
    listed = [o["Key"] for o in raw.list_objects_v2(Bucket=store.bucket)["Contents"]]
    assert listed == [key]
    head = raw.head_object(Bucket=store.bucket, Key=key, ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == base64.b64encode(bytes.fromhex(digest)).decode()


def test_large_blobs_go_up_as_multipart_with_a_sha256_per_part(
        store: S3BlobStore, raw: Any, tmp_path: Path) -> None:
    data = b"m" * (2 * MIN_PART_SIZE + 100)
    digest, path = _staged(tmp_path, data)
    assert store.put_file(digest, path) is True
    head = raw.head_object(Bucket=store.bucket, Key=store._key(digest), ChecksumMode="ENABLED")
    assert head["ETag"].strip('"').endswith("-3")  # three parts
    parts = [hashlib.sha256(data[i:i + MIN_PART_SIZE]).digest()
             for i in range(0, len(data), MIN_PART_SIZE)]
    composite = base64.b64encode(hashlib.sha256(b"".join(parts)).digest()).decode()
    assert head["ChecksumSHA256"].split("-")[0] == composite
    assert _uploads(raw, store.bucket) == []


def test_a_second_multipart_upload_of_stored_bytes_is_refused_and_aborted(
        store: S3BlobStore, raw: Any, tmp_path: Path) -> None:
    """CompleteMultipartUpload with If-None-Match: * gets 412; the upload is aborted, not
    left holding its parts, and the stored object is checked and kept."""
    digest, path = _staged(tmp_path, b"n" * (MIN_PART_SIZE + 1))
    assert store.put_file(digest, path) is True
    before = raw.head_object(Bucket=store.bucket, Key=store._key(digest))["LastModified"]
    assert store.put_file(digest, path) is False
    assert _uploads(raw, store.bucket) == []
    assert raw.head_object(Bucket=store.bucket, Key=store._key(digest))["LastModified"] == before


def test_an_existing_object_that_does_not_hash_to_its_key_is_an_integrity_error(
        store: S3BlobStore, raw: Any, tmp_path: Path) -> None:
    """A 412 is accepted only for the same bytes: here someone wrote other bytes under the
    key (moto, unlike S3, does not verify x-amz-checksum-sha256, so this is possible)."""
    digest, path = _staged(tmp_path, b"the real artifact")
    raw.put_object(Bucket=store.bucket, Key=store._key(digest), Body=b"tampered")
    with pytest.raises(BlobCorrupted):
        store.put_file(digest, path)
    body = raw.get_object(Bucket=store.bucket, Key=store._key(digest))["Body"].read()
    assert body == b"tampered"  # never overwritten, not even to repair it


def test_sweep_aborts_multipart_uploads_a_dead_process_left(
        store: S3BlobStore, raw: Any, database_url: str) -> None:
    """`vouch admin sweep-blobs` (sweep_orphans) aborts the store's multipart uploads started
    before --min-age. moto reports every upload as initiated on 2010-11-10 (a constant in its
    source), so "younger than --min-age" is shown with a cut-off before that date, and the
    sweep itself with the default hour (every moto upload is older)."""
    digest = hashlib.sha256(b"crashed").hexdigest()
    upload = raw.create_multipart_upload(Bucket=store.bucket, Key=store._key(digest),
                                         ChecksumAlgorithm="SHA256")["UploadId"]
    raw.upload_part(Bucket=store.bucket, Key=store._key(digest), UploadId=upload,
                    PartNumber=1, Body=b"x" * 1000)
    other = raw.create_multipart_upload(Bucket=store.bucket, Key="elsewhere/k")["UploadId"]
    long_ago = datetime(2001, 1, 1, tzinfo=UTC)
    assert store.abort_incomplete_uploads(long_ago).count == 0
    assert {u["UploadId"] for u in _uploads(raw, store.bucket)} == {upload, other}
    engine: Engine = make_engine(database_url)
    try:
        assert sweep_orphans(engine, store, SystemClock(), min_age=timedelta(hours=1)) == []
    finally:
        engine.dispose()
    # Outside the store's prefix: not Vouch's upload, never touched.
    assert [u["UploadId"] for u in _uploads(raw, store.bucket)] == [other]
    with pytest.raises(ClientError):
        raw.list_parts(Bucket=store.bucket, Key=store._key(digest), UploadId=upload)


def test_abort_reports_what_it_freed(store: S3BlobStore, raw: Any) -> None:
    key = store._key(hashlib.sha256(b"crashed").hexdigest())
    upload = raw.create_multipart_upload(Bucket=store.bucket, Key=key)["UploadId"]
    raw.upload_part(Bucket=store.bucket, Key=key, UploadId=upload, PartNumber=1,
                    Body=b"x" * 1000)
    removed = store.abort_incomplete_uploads(datetime.now(UTC))
    assert (removed.count, removed.size) == (1, 1000)
    assert _uploads(raw, store.bucket) == []


def test_sweep_removes_only_old_unreferenced_objects(store: S3BlobStore, tmp_path: Path,
                                                     database_url: str) -> None:
    digest, path = _staged(tmp_path, b"orphan")
    store.put_file(digest, path)
    engine = make_engine(database_url)
    try:
        assert sweep_orphans(engine, store, SystemClock(), min_age=timedelta(hours=1)) == []
        assert store.keys() == [digest]  # young: an in-flight publish may still use it
        assert sweep_orphans(engine, store, SystemClock(), min_age=timedelta(0)) == [digest]
        assert store.keys() == [] and store.set_aside_handles() == []
    finally:
        engine.dispose()


def test_presigned_url_serves_the_bytes_as_an_attachment(store: S3BlobStore,
                                                         tmp_path: Path) -> None:
    digest, path = _staged(tmp_path, b"presigned bytes")
    store.put_file(digest, path)
    url = store.presigned_url(digest, filename="pkg-1.0.0.tgz", expires_in=60)
    assert "X-Amz-Expires=60" in url and "X-Amz-Signature=" in url
    answer = httpx.get(url)
    assert answer.status_code == 200 and answer.content == b"presigned bytes"
    assert answer.headers["content-disposition"] == 'attachment; filename="pkg-1.0.0.tgz"'


@pytest.fixture
def unreachable(aws_environment: None) -> Iterator[S3BlobStore]:
    """A store whose endpoint refuses connections (nothing listens on the port)."""
    yield S3BlobStore("vouch", endpoint_url=f"http://127.0.0.1:{free_port()}", region=REGION)


def test_an_unreachable_endpoint_is_storage_unavailable(unreachable: S3BlobStore,
                                                        tmp_path: Path) -> None:
    digest, path = _staged(tmp_path, b"nowhere to go")
    for operation in (lambda: unreachable.put_file(digest, path),
                      lambda: unreachable.open(digest), lambda: unreachable.exists(digest),
                      lambda: unreachable.keys(), lambda: unreachable.set_aside(digest)):
        with pytest.raises(StorageUnavailable) as refused:
            operation()
        assert refused.value.status == 503 and refused.value.code == "storage_unavailable"
        assert "127.0.0.1" not in refused.value.detail


def test_a_missing_bucket_is_unavailable_not_a_missing_blob(moto_s3: MotoS3) -> None:
    """(A HEAD's 404 carries no error code, so ``exists`` cannot tell; reads and writes can.)"""
    store = S3BlobStore("no-such-bucket", endpoint_url=moto_s3.url, region=REGION)
    digest = hashlib.sha256(b"x").hexdigest()
    with pytest.raises(StorageUnavailable):
        store.open(digest)
    with pytest.raises(StorageUnavailable):
        store.put_file(digest, Path(__file__))


def test_missing_keys_are_blob_not_found(store: S3BlobStore) -> None:
    digest = hashlib.sha256(b"never stored").hexdigest()
    with pytest.raises(BlobNotFound):
        store.open(digest)
    assert store.exists(digest) is False and store.set_aside(digest) is None
