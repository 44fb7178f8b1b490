"""The orphan sweep removes unreferenced old blobs and nothing else."""

from __future__ import annotations

import hashlib
import os
import time
from datetime import timedelta
from pathlib import Path

from app.clock import SystemClock
from app.db import make_engine, session_scope
from app.models import PackageBlob
from app.services.sweep import sweep_orphans
from app.storage import FilesystemBlobStore


def test_sweep_keeps_referenced_and_young_blobs(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    store = FilesystemBlobStore(tmp_path / "blobs")
    digests = {}
    for label in ("referenced", "orphan-old", "orphan-young"):
        data = label.encode()
        digest = hashlib.sha256(data).hexdigest()
        (tmp_path / label).write_bytes(data)
        store.put_file(digest, tmp_path / label)
        digests[label] = digest
    clock = SystemClock()
    with session_scope(engine, write=True) as session:
        session.add(PackageBlob(sha256=digests["referenced"], sha512="0" * 128, size=10,
                                created_at=clock.now()))
    old = time.time() - 7200
    path = store.local_path(digests["orphan-old"])
    assert path is not None
    os.utime(path, (old, old))
    removed = sweep_orphans(engine, store, clock, min_age=timedelta(hours=1))
    assert removed == [digests["orphan-old"]]
    assert sorted(store.keys()) == sorted([digests["referenced"], digests["orphan-young"]])
    engine.dispose()
