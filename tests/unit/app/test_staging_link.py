"""A staged upload becomes its blob without a copy (issue 13), with the same guarantees: the
blob is fsynced, read-only and write-once; a source the store does not own is copied, never
linked; leftovers are still told from live uploads."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from app.core.errors import MalformedInput, PayloadTooLarge
from app.publishing.staging import stage
from app.storage import FilesystemBlobStore
from app.storage import filesystem as filesystem_module
from app.storage.tempfiles import remove_abandoned, sealed_fd

DATA = b"artifact bytes " * 70
DIGEST = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def store(tmp_path: Path) -> FilesystemBlobStore:
    return FilesystemBlobStore(tmp_path / "blobs")


def _blob(store: FilesystemBlobStore, digest: str = DIGEST) -> Path:
    path = store.local_path(digest)
    assert path is not None
    return path


def test_a_staged_upload_is_linked_into_place_not_copied(
        tmp_path: Path, store: FilesystemBlobStore) -> None:
    staging = tmp_path / "staging"
    with stage(io.BytesIO(DATA), limit=1 << 20, directory=staging) as staged:
        assert sealed_fd(staged.path) is not None
        assert store.put_file(staged.sha256, staged.path) is True
        blob = _blob(store)
        assert os.stat(blob).st_ino == os.stat(staged.path).st_ino  # the same file
        assert staged.path.read_bytes() == DATA  # still readable by the caller
        assert list((store.root / ".tmp").iterdir()) == []  # no second temporary file
    assert sealed_fd(staged.path) is None
    assert list(staging.iterdir()) == []
    assert blob.read_bytes() == DATA
    assert stat.S_IMODE(blob.stat().st_mode) == 0o444
    assert blob.stat().st_nlink == 1


def test_a_source_that_is_not_a_sealed_upload_is_copied(
        tmp_path: Path, store: FilesystemBlobStore) -> None:
    source = tmp_path / "mine"
    source.write_bytes(DATA)
    assert store.put_file(DIGEST, source) is True
    source.write_bytes(b"changed by its owner afterwards")
    assert _blob(store).read_bytes() == DATA
    assert os.stat(_blob(store)).st_ino != os.stat(source).st_ino


def test_a_staged_upload_on_another_filesystem_is_copied(
        tmp_path: Path, store: FilesystemBlobStore, monkeypatch: pytest.MonkeyPatch) -> None:
    real_link = filesystem_module._link_new

    def cross_device(source: Path, target: Path) -> None:
        if source.name.startswith("upload-"):  # the staging directory is on another mount
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_link(source, target)

    monkeypatch.setattr(filesystem_module, "_link_new", cross_device)
    with stage(io.BytesIO(DATA), limit=1 << 20, directory=tmp_path / "staging") as staged:
        assert store.put_file(staged.sha256, staged.path) is True
        assert os.stat(_blob(store)).st_ino != os.stat(staged.path).st_ino
    assert _blob(store).read_bytes() == DATA
    assert list((store.root / ".tmp").iterdir()) == []


def test_an_existing_blob_is_kept_when_the_same_bytes_are_staged_again(
        tmp_path: Path, store: FilesystemBlobStore) -> None:
    staging = tmp_path / "staging"
    with stage(io.BytesIO(DATA), limit=1 << 20, directory=staging) as first:
        assert store.put_file(first.sha256, first.path) is True
    inode = os.stat(_blob(store)).st_ino
    with stage(io.BytesIO(DATA), limit=1 << 20, directory=staging) as again:
        assert store.put_file(again.sha256, again.path) is False
    assert os.stat(_blob(store)).st_ino == inode
    assert _blob(store).read_bytes() == DATA
    assert list(staging.iterdir()) == []


def test_concurrent_publishes_of_the_same_bytes_store_them_once(
        tmp_path: Path, store: FilesystemBlobStore) -> None:
    def publish(_: int) -> bool:
        with stage(io.BytesIO(DATA), limit=1 << 20, directory=tmp_path / "staging") as staged:
            return store.put_file(staged.sha256, staged.path)

    with ThreadPoolExecutor(8) as pool:
        created = list(pool.map(publish, range(32)))
    assert created.count(True) == 1
    assert _blob(store).read_bytes() == DATA
    assert list((tmp_path / "staging").iterdir()) == []


def test_oversize_and_empty_uploads_leave_nothing(
        tmp_path: Path, store: FilesystemBlobStore) -> None:
    staging = tmp_path / "staging"
    with pytest.raises(PayloadTooLarge), \
            stage(io.BytesIO(DATA), limit=len(DATA) - 1, directory=staging):
        pass
    with pytest.raises(MalformedInput), stage(io.BytesIO(b""), limit=10, directory=staging):
        pass
    assert list(staging.iterdir()) == []
    assert store.keys() == []


def test_the_staging_directory_is_made_again_if_it_was_removed(tmp_path: Path) -> None:
    staging = tmp_path / "deep" / "staging"
    for _ in range(2):
        with stage(io.BytesIO(DATA), limit=1 << 20, directory=staging) as staged:
            assert staged.path.parent == staging
        staging.rmdir()


def test_a_crash_leftover_linked_to_a_blob_is_swept_and_the_blob_stays(
        tmp_path: Path, store: FilesystemBlobStore) -> None:
    staging = tmp_path / "staging"
    with stage(io.BytesIO(DATA), limit=1 << 20, directory=staging) as staged:
        store.put_file(staged.sha256, staged.path)
        # While the upload lives, the sweep leaves its file alone.
        assert remove_abandoned(staging, "upload-*").count == 0
        # What a kill -9 at this point leaves: the staged name (unlocked) beside the blob.
        leftover = staging / "upload-dead"
        os.link(staged.path, leftover)
    assert remove_abandoned(staging, "upload-*").count == 1
    assert not leftover.exists()
    assert _blob(store).read_bytes() == DATA
