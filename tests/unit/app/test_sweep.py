"""The orphan sweep removes bytes no live version uses, and nothing else (issue 10: an
unpublished version's rows stay as evidence, so "has a blob row" no longer means "in use")."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from app.core.clock import SystemClock
from app.core.db import make_engine, session_scope
from app.core.models import Package, PackageBlob, PackageFile, PackageVersion
from app.publishing.sweep import sweep_orphans
from app.storage import FilesystemBlobStore

CLOCK = SystemClock()


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _store(store: FilesystemBlobStore, tmp_path: Path, label: str, *, old: bool) -> str:
    data = label.encode()
    digest = hashlib.sha256(data).hexdigest()
    (tmp_path / label).write_bytes(data)
    store.put_file(digest, tmp_path / label)
    if old:
        path = store.local_path(digest)
        assert path is not None
        then = time.time() - 7200
        os.utime(path, (then, then))
    return digest


def _version(engine: Engine, digest: str, version: str, *, unpublished: bool = False,
             quarantined: bool = False) -> None:
    now = CLOCK.now()
    with session_scope(engine, write=True) as session:
        package = session.get(Package, 1) or Package(id=1, name="pkg", created_at=now)
        session.add(package)
        blob = PackageBlob(sha256=digest, sha512="0" * 128, size=1, created_at=now)
        row = PackageVersion(package_id=1, version=version, sort_key=version, published_at=now,
                             published_by="alice", unpublished_at=now if unpublished else None,
                             quarantined_at=now if quarantined else None)
        session.add_all([blob, row])
        session.flush()
        assert blob.id is not None and row.id is not None
        session.add(PackageFile(version_id=row.id, blob_id=blob.id, filename=f"pkg-{version}"))


def test_sweep_keeps_live_and_young_bytes_and_removes_the_rest(engine: Engine,
                                                               tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path / "blobs")
    live = _store(store, tmp_path, "live", old=True)
    quarantined = _store(store, tmp_path, "quarantined", old=True)
    unpublished = _store(store, tmp_path, "unpublished", old=True)
    orphan_old = _store(store, tmp_path, "orphan-old", old=True)
    orphan_young = _store(store, tmp_path, "orphan-young", old=False)
    _version(engine, live, "1.0.0")
    _version(engine, quarantined, "1.0.1", quarantined=True)  # evidence: bytes stay
    _version(engine, unpublished, "1.0.2", unpublished=True)  # left by a crash before purge

    removed = sweep_orphans(engine, store, CLOCK, min_age=timedelta(hours=1))

    assert sorted(removed) == sorted([orphan_old, unpublished])
    assert sorted(store.keys()) == sorted([live, quarantined, orphan_young])


def test_sweep_settles_bytes_a_crash_left_set_aside(engine: Engine, tmp_path: Path) -> None:
    """A crash between "set aside" and "purge"/"restore": the sweep restores what a live
    version still needs (its unpublish never committed) and purges the rest."""
    store = FilesystemBlobStore(tmp_path / "blobs")
    needed = _store(store, tmp_path, "still needed", old=True)
    gone = _store(store, tmp_path, "really gone", old=True)
    _version(engine, needed, "1.0.0")
    _version(engine, gone, "1.0.1", unpublished=True)
    assert store.set_aside(needed) is not None and store.set_aside(gone) is not None
    assert store.keys() == []

    assert sweep_orphans(engine, store, CLOCK, min_age=timedelta(hours=1)) == []

    assert store.keys() == [needed] and store.set_aside_handles() == []
    with store.open(needed) as stream:
        assert stream.read() == b"still needed"
