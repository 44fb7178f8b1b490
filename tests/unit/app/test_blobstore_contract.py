"""The BlobStore contract: every backend (filesystem, S3) must pass these.

The S3 backend runs against moto's server mode on loopback (``tests/support/moto_s3.py``), a
fresh bucket per test, with the smallest multipart size S3 allows so that large blobs go up
as real multipart uploads here.
"""

from __future__ import annotations

import hashlib
import io
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.storage import BlobNotFound, BlobStore, FilesystemBlobStore, blob_key
from app.storage.s3 import MIN_PART_SIZE, S3BlobStore
from tests.support.moto_s3 import REGION, MotoS3

BACKENDS = ["filesystem", "s3"]


def make_store(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> BlobStore:
    if kind == "s3":
        moto: MotoS3 = request.getfixturevalue("moto_s3")
        return S3BlobStore(moto.new_bucket(), prefix="blobs", endpoint_url=moto.url,
                           region=REGION, multipart_threshold=MIN_PART_SIZE,
                           part_size=MIN_PART_SIZE)
    return FilesystemBlobStore(tmp_path / "blobs")


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    return make_store(request.param, tmp_path, request)


def _staged(tmp_path: Path, data: bytes, name: str = "staged") -> tuple[str, Path]:
    path = tmp_path / name
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest(), path


def test_put_then_read_back(store: BlobStore, tmp_path: Path) -> None:
    digest, path = _staged(tmp_path, b"hello")
    assert store.put_file(digest, path) is True
    assert store.exists(digest) and store.size(digest) == 5
    with store.open(digest) as stream:
        assert stream.read() == b"hello"
    assert store.keys() == [digest]


def test_never_overwrites(store: BlobStore, tmp_path: Path) -> None:
    digest, path = _staged(tmp_path, b"original")
    assert store.put_file(digest, path) is True
    _, other = _staged(tmp_path, b"imposter", "other")
    assert store.put_file(digest, other) is False
    with store.open(digest) as stream:
        assert stream.read() == b"original"


def test_concurrent_writers_of_one_digest_create_it_once(store: BlobStore,
                                                         tmp_path: Path) -> None:
    digest, path = _staged(tmp_path, b"x" * 100_000)
    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(lambda _: store.put_file(digest, path), range(16)))
    assert created.count(True) == 1
    assert store.size(digest) == 100_000


def test_missing_and_delete(store: BlobStore, tmp_path: Path) -> None:
    digest, path = _staged(tmp_path, b"gone soon")
    with pytest.raises(BlobNotFound):
        store.open(digest)
    with pytest.raises(BlobNotFound):
        store.size(digest)
    store.put_file(digest, path)
    store.delete(digest)
    store.delete(digest)  # idempotent
    assert not store.exists(digest) and store.keys() == []


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ABC", "a" * 63, "g" * 64, ""])
def test_keys_must_be_sha256_hex(store: BlobStore, tmp_path: Path, bad: str) -> None:
    _, path = _staged(tmp_path, b"x")
    with pytest.raises(ValueError):
        store.put_file(bad, path)
    with pytest.raises(ValueError):
        blob_key(bad)


def test_set_aside_stops_serving_but_an_open_reader_finishes(store: BlobStore,
                                                             tmp_path: Path) -> None:
    """Issue 10: a download that opened the blob before an unpublish set it aside (and even
    purged it) reads the whole body."""
    data = b"y" * 3_000_000
    digest, path = _staged(tmp_path, data)
    store.put_file(digest, path)
    reader = store.open(digest)
    handle = store.set_aside(digest)
    assert handle is not None and store.set_aside_handles() == [handle]
    assert not store.exists(digest) and store.keys() == []
    with pytest.raises(BlobNotFound):
        store.open(digest)
    store.purge(handle)
    store.purge(handle)  # idempotent
    with reader:
        assert reader.read() == data
    assert store.set_aside_handles() == [] and store.set_aside(digest) is None


def test_restore_puts_bytes_back_without_replacing_a_newer_copy(store: BlobStore,
                                                                tmp_path: Path) -> None:
    digest, path = _staged(tmp_path, b"restored")
    store.put_file(digest, path)
    handle = store.set_aside(digest)
    assert handle is not None
    store.restore(handle)
    store.restore(handle)  # idempotent
    with store.open(digest) as stream:
        assert stream.read() == b"restored"
    again = store.set_aside(digest)
    assert again is not None
    assert store.put_file(digest, path) is True  # stored anew meanwhile (a publish)
    store.restore(again)  # keeps the new copy, drops the set-aside one
    assert store.keys() == [digest] and store.set_aside_handles() == []


@pytest.mark.parametrize("bad", ["../" + "a" * 64 + ".0123456789abcdef", "a" * 64,
                                 "a" * 64 + ".xyz", "a" * 64 + "/../../x.0123456789abcdef"])
def test_set_aside_handles_are_checked(store: BlobStore, bad: str) -> None:
    with pytest.raises(ValueError):
        store.purge(bad)
    with pytest.raises(ValueError):
        store.restore(bad)


def test_large_blobs_round_trip(store: BlobStore, tmp_path: Path) -> None:
    """Above the S3 store's multipart threshold: a multipart upload, read back whole."""
    data = bytes(range(256)) * (11 * 1024 * 1024 // 256) + b"tail"
    digest, path = _staged(tmp_path, data)
    assert store.put_file(digest, path) is True
    assert store.put_file(digest, path) is False
    assert store.size(digest) == len(data)
    with store.open(digest) as stream:
        assert hashlib.sha256(stream.read()).hexdigest() == digest
    assert store.keys() == [digest]


def test_open_handles_seek_for_range_requests(store: BlobStore, tmp_path: Path) -> None:
    data = bytes(range(256)) * 40
    digest, path = _staged(tmp_path, data)
    store.put_file(digest, path)
    with store.open(digest) as stream:
        assert stream.read(10) == data[:10]
        stream.seek(5000)
        assert stream.tell() == 5000 and stream.read(100) == data[5000:5100]
        stream.seek(-6, io.SEEK_END)
        assert stream.read() == data[-6:]
        stream.seek(0)
        assert stream.read() == data
