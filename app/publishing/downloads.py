"""Downloads: which artifact a request may have, its bytes opened safely, and counting.

    artifact = find_artifact(session, "left-pad", "1.0.0")   # VersionGone / Quarantined
    stream = open_artifact(engine, blobs, artifact)           # an open handle, or VersionGone
    counter.hit(version_id)        # in memory, O(1), thread-safe
    counter.flush()                # every version's count in one statement, the packages' read
                                   # generations raised (documents show counts), and at
                                   # most every 30 s an outbox row (search popularity)

Serving races an unpublish (issue 10): the blob is opened before any header is sent and the
open handle is what gets streamed, so a download that opened the file finishes with the whole
body even if the bytes are set aside and purged meanwhile (POSIX keeps an unlinked open file
readable). A download that finds the bytes gone at open time waits for the deciding
transaction (the digest's lock, see ``blob_refs``) and re-reads the version: unpublished is a
410, never a 500. Bytes missing for a live version are a real integrity fault: logged, 500.

The download counter flushes from a background thread every few seconds and on shutdown. A
crash loses at most one interval of counts, which is acceptable for a popularity signal.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import BinaryIO

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.core.clock import Clock
from app.core.db import session_scope
from app.core.db_errors import database_outage
from app.core.errors import VersionGone, VersionQuarantined
from app.core.models import PackageBlob, PackageFile
from app.core.records import enqueue
from app.publishing import packages as pkgs
from app.publishing.blob_refs import lock_digest
from app.publishing.generations import bump
from app.storage import BlobNotFound, BlobStore

log = logging.getLogger("vouch.downloads")

#: Seconds between two ``search.downloads`` refreshes of the search index's popularity figures.
SEARCH_INTERVAL = 30.0

# One flush writes every version's count in one statement (issue 13: 3,000 versions by
# executemany took 13 ms of CPU on SQLite and 60-70 ms on PostgreSQL every 2 s per worker,
# GIL time that showed up as the downloads' p99). PostgreSQL: the CTE locks the versions in id
# order first, so two workers flushing the same versions never deadlock (as the sorted
# executemany did); SQLite has one writer at a time.
_ADD_DOWNLOADS_PG = """
WITH locked AS (
    SELECT id FROM package_versions WHERE id = ANY(%(ids)s::bigint[]) ORDER BY id FOR UPDATE
)
UPDATE package_versions AS v SET downloads = v.downloads + d.count
FROM unnest(%(ids)s::bigint[], %(counts)s::bigint[]) AS d(id, count)
JOIN locked ON locked.id = d.id
WHERE v.id = d.id
"""
_ADD_DOWNLOADS_SQLITE = "UPDATE package_versions SET downloads = downloads + ? WHERE id = ?"


@dataclass(frozen=True)
class Artifact:
    """The one file a download of ``package@version`` serves."""

    package: str
    version: str
    version_id: int
    filename: str
    sha256: str
    sha512: str
    size: int


def find_artifact(session: Session, name: str, version: str) -> Artifact:
    """The servable file of ``name@version``.

    Raises ``NotFound``, ``VersionGone`` (unpublished, 410) or ``VersionQuarantined``.
    """
    package = pkgs.get_package(session, name)
    row = pkgs.get_version(session, package, version)
    if row.unpublished_at is not None:
        raise VersionGone(name, version)
    if row.quarantined_at is not None or package.status == "quarantined":
        raise VersionQuarantined(name, version, row.quarantine_reason)
    found = session.exec(select(PackageFile, PackageBlob).where(
        PackageFile.version_id == row.id, PackageFile.blob_id == PackageBlob.id)).first()
    if found is None or row.id is None:
        raise VersionGone(name, version)
    file, blob = found
    return Artifact(package=name, version=version, version_id=row.id, filename=file.filename,
                    sha256=blob.sha256, sha512=blob.sha512, size=blob.size)


def open_artifact(engine: Engine, blobs: BlobStore, artifact: Artifact, *,
                  refind: Callable[[Session], Artifact] | None = None) -> BinaryIO:
    """Open the artifact's bytes; the caller streams (and closes) the handle.

    If the bytes are gone, waits for whoever removed them to commit and reads the version
    again (``refind``, default ``find_artifact`` of a native package; another format passes
    its own lookup): raises ``VersionGone`` / ``VersionQuarantined`` as ``find_artifact``
    does, or ``BlobMissing`` (a 500: a live version without bytes breaks the storage
    invariant).
    """
    try:
        return blobs.open(artifact.sha256)
    except BlobNotFound:
        pass
    with session_scope(engine, write=True) as session:
        lock_digest(session, artifact.sha256)  # an unpublish in flight holds it until commit
        again = (refind(session) if refind is not None
                 else find_artifact(session, artifact.package, artifact.version))
        try:
            return blobs.open(again.sha256)
        except BlobNotFound as err:
            log.error("blob %s of live version %s@%s is missing from storage",
                      again.sha256, artifact.package, artifact.version)
            raise BlobMissing(again.sha256) from err


class BlobMissing(RuntimeError):
    """A live version's bytes are not in storage (answered as a 500; never expected)."""


def _add_downloads(session: Session, counts: list[tuple[int, int]]) -> None:
    """Add ``(version id, count)`` pairs (sorted by id) to the versions' download counts."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(_ADD_DOWNLOADS_PG, {
            "ids": [version_id for version_id, _ in counts],
            "counts": [count for _, count in counts]})
    else:
        connection.exec_driver_sql(_ADD_DOWNLOADS_SQLITE,
                                   [(count, version_id) for version_id, count in counts])


class DownloadCounter:
    """Counts downloads in memory and writes them every ``interval``.

    Each flush writes the counts and raises the packages' read generations (documents show
    counts: exact on every replica). The search index's popularity figures are refreshed less
    often: the names downloaded are held and one ``search.downloads`` outbox item for all of
    them is queued at most every ``search_interval`` seconds (issue 13: re-indexing every
    downloaded package every 2 s was a fifth of a worker's time under download load; ranking
    by downloads does not need seconds). A crash loses at most the held names' refresh, until
    their next download.
    """

    def __init__(self, engine: Engine, clock: Clock, interval: timedelta,
                 search_interval: float = SEARCH_INTERVAL) -> None:
        self.engine = engine
        self.clock = clock
        self.interval = interval.total_seconds()
        self.search_interval = search_interval
        self._pending: Counter[tuple[int, str]] = Counter()
        self._search_names: set[str] = set()  # downloaded, not yet queued for search
        self._search_due = 0.0  # time.monotonic() from which the next search item may go
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._in_outage = False

    def hit(self, version_id: int, package: str) -> None:
        with self._lock:
            self._pending[(version_id, package)] += 1

    def flush(self, *, search_now: bool = False) -> int:
        """Write pending counts; returns how many downloads were written. ``search_now`` (at
        shutdown, or a test) also queues the held search refresh whatever its interval."""
        now = time.monotonic()
        with self._lock:
            pending, self._pending = self._pending, Counter()
            held = self._search_names | {name for _, name in pending}
            search = sorted(held) if held and (search_now or now >= self._search_due) else []
        if not pending and not search:
            return 0
        try:
            with session_scope(self.engine, write=True) as session:
                if pending:
                    _add_downloads(session, sorted((version_id, count) for (version_id, _),
                                                   count in pending.items()))
                if search:
                    enqueue(session, at=self.clock.now(), kind="search.downloads",
                            packages=search)
                # Documents show counts: raise their generations (migration 0011's trigger
                # skips updates of the count alone). Last, as the deferred triggers do: the
                # generation rows are the last locks a writer takes.
                bump(session, {name for _, name in pending})
        except Exception as err:
            outage = database_outage(err)
            if outage is None:
                log.exception("could not flush download counts; keeping them for the next try")
            elif not self._in_outage:  # one line per outage, not a traceback every interval
                log.warning("database unavailable (%s): keeping %d download counts until it "
                            "answers", outage.reason, sum(pending.values()))
            self._in_outage = outage is not None
            with self._lock:
                self._pending.update(pending)
            return 0
        with self._lock:
            if search:
                self._search_names -= set(search)
                self._search_due = now + self.search_interval
            else:
                self._search_names |= held
        if self._in_outage:
            log.warning("database answers again: download counts written")
            self._in_outage = False
        return sum(pending.values())

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="vouch-downloads", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush(search_now=True)
