"""SQLite writers of several processes queue on a ``flock`` beside the database (issue 13).

Within a process writers queue on a lock; across processes (`vouch serve --workers 2`, `vouch
worker`) they used to wait in SQLite's busy handler, whose sleeps grow to 100 ms while the
other process's threads passed the database among themselves. A write transaction now holds an
exclusive ``flock`` on ``<database>.writers`` from before its ``BEGIN IMMEDIATE`` until after its
commit or rollback. ``flock`` locks belong to an open file, so a second open of the file here
stands for another process.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from app.core.db import make_engine, session_scope


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "vouch.db"


@pytest.fixture
def engine(database: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{database}")
    yield engine
    engine.dispose()


def _held_elsewhere(path: Path) -> bool:
    """Whether another open file (another process, as far as flock is concerned) is kept out."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def test_a_write_transaction_holds_the_writers_lock_until_it_ends(engine: Engine,
                                                                  database: Path) -> None:
    writers = Path(f"{database}.writers")
    with session_scope(engine, write=True) as session:
        session.execute(text("CREATE TABLE t (x INTEGER)"))
        assert _held_elsewhere(writers)
    assert not _held_elsewhere(writers)  # released after the commit
    with pytest.raises(RuntimeError), session_scope(engine, write=True) as session:
        session.execute(text("INSERT INTO t VALUES (1)"))
        assert _held_elsewhere(writers)
        raise RuntimeError("rolled back")
    assert not _held_elsewhere(writers)  # and after a rollback
    with session_scope(engine) as session:  # readers never queue
        assert session.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
        assert not _held_elsewhere(writers)


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_in_memory_databases_make_no_lock_file(url: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    engine = make_engine(url)
    with session_scope(engine, write=True) as session:
        session.execute(text("CREATE TABLE t (x INTEGER)"))
    engine.dispose()
    assert not list(tmp_path.iterdir())
