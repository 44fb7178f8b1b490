"""Artifact downloads on a pure ASGI fast path: one indexed read, no session, no routing.

Native downloads (``/api/v1/packages/{package}/versions/{version}/artifact``), pip's and
uv's (``/pypi/files/{name}/{version}/{filename}``, the Simple API's links) and npm's
(``/npm/{name}/-/{file}.tgz``, the packument's tarball URLs) alike:

    lookup = ArtifactLookup(registry.engine)               # closed at shutdown
    app.add_middleware(FastDownloads, registry=registry, lookup=lookup)

A download is decided from the database on every request, as on the routed path
(``routers/packages.py`` ``download_artifact``): whether a version may be downloaded is never
taken from a cache that a commit could have made stale. What the fast path saves is the rest:
a SQLAlchemy session and three ORM queries, three thread-pool hops (the session dependency,
the sync route, the file response), FastAPI's routing and dependency machinery, and a
``FileResponse`` streaming 1 KiB through the thread pool. Here one indexed SQL statement on a
connection of this process's own, in autocommit mode, finds the package, version, file and
blob (``ArtifactLookup``): on SQLite on the event loop, and skipped while ``PRAGMA
data_version`` shows that no connection of any process has committed since the same question
was answered; on PostgreSQL in a worker thread, one query for all the downloads that arrived
while the previous one ran. So an unpublish or quarantine committed by any replica applies to
the next request. A live version's bytes up to ``SMALL_BODY`` are sent in one message, from
``BodyCache`` (bytes are write-once by digest) or read in a worker thread; with
``accel_redirect_prefix`` set, any size is handed to the proxy with ``X-Accel-Redirect``.

Everything that is not that plain case goes to the routed path, which decides again from
scratch: unknown names and versions, unpublished or quarantined versions (their problem
documents live there), ``Range`` requests, bodies larger than ``SMALL_BODY`` without a proxy,
remote blob stores, bytes that are gone when first read (the routed path waits on the digest's
lock, issue 10), and database errors (the routed path answers 503 ``database_unavailable``;
the fast path stays off for ``RETRY_AFTER`` seconds). Downloads are counted as on the routed
path: GET 200.

Under `vouch serve`, the front door's instance also answers from the HTTP protocol
(``answer``, see ``app.core.protocol_answers``): a plain anonymous download whose bytes are
already in ``BodyCache`` or larger than ``SMALL_BODY`` (sent from the blob file with
``sendfile``, ``app.core.send_file``), or handed to the proxy in front with
``X-Accel-Redirect`` whatever its size, or a 304, after the same lookup, counted the same way;
anything else it leaves to the ASGI path above.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from functools import partial
from typing import Any

import anyio.to_thread
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.answers import Answer, FileBody, Pending, header_lines
from app.core.loop_queries import Coalescer, LoopConnection, own_connection, text_array
from app.publishing.front_door import plain_anonymous, tried
from app.publishing.remote_downloads import presigned_redirect
from app.storage import BlobNotFound, FilesystemBlobStore, blob_key
from formats.errors import FormatError
from formats.npm.names import version_of_tarball

log = logging.getLogger("vouch.downloads")

PREFIX = "/api/v1/packages/"
SUFFIX = "/artifact"
SMALL_BODY = 256 * 1024
BODY_CACHE_BYTES = 32 * 1024 * 1024  # per process; filled by downloads, empty when idle
RETRY_AFTER = 5.0
_IMMUTABLE = b"public, max-age=31536000, immutable"

GENERIC = "generic"
PYPI = "pypi"  # app.pypi's ecosystem (not imported: the download path needs none of it)
PYPI_FILES = "/pypi/files/"  # pip's and uv's downloads: /pypi/files/{name}/{version}/{filename}
METADATA = ".metadata"  # a file name's suffix that asks for its PEP 658 metadata (fast_metadata)
NPM = "npm"
NPM_PREFIX = "/npm/"  # npm's tarballs: /npm/{name}/-/{file}.tgz, /npm/@{scope}/{name}/-/...

# A key names what a download asks for: (ecosystem, package, version, filename), the filename
# empty where a version has one file (a native download, an npm tarball).
Key = tuple[str, str, str, str]

_QUERY = """
SELECT p.name, p.status, v.id, v.unpublished_at, v.quarantined_at, f.filename,
       b.sha256, b.sha512, b.size, f.id, f.core_metadata_sha256
FROM packages p
JOIN package_versions v ON v.package_id = p.id
JOIN package_files f ON f.version_id = v.id
JOIN package_blobs b ON b.id = f.blob_id
WHERE p.ecosystem = {ph} AND p.name = {ph} AND v.version = {ph}
"""
_FILE_CONDITION = " AND f.filename = {ph}"


# PostgreSQL: the same for a batch of (name, version) pairs, one index probe per pair. The
# LATERAL subquery (its LIMIT keeps the planner from flattening it into a join) pins that
# plan: written as a join over ``unnest``, the planner hash-joined a sequential scan of every
# package (issue 13: 1.5-3.3 ms a batch at 1,000 packages with autovacuum off, as here;
# 0.2 ms probed).
_BATCH_QUERY = """
SELECT q.ecosystem, q.name, q.version, q.filename, r.*
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
     AS q(ecosystem, name, version, filename)
CROSS JOIN LATERAL (
    SELECT p.status, v.id, v.unpublished_at, v.quarantined_at, f.filename,
           b.sha256, b.sha512, b.size, f.id, f.core_metadata_sha256
    FROM packages p
    JOIN package_versions v ON v.package_id = p.id
    JOIN package_files f ON f.version_id = v.id
    JOIN package_blobs b ON b.id = f.blob_id
    WHERE p.ecosystem = q.ecosystem AND p.name = q.name AND v.version = q.version
      AND (q.filename = '' OR f.filename = q.filename)
    LIMIT 2
) AS r
"""


@dataclass(frozen=True)
class Servable:
    """A live version's file, as the download answers it."""

    package: str
    version_id: int
    filename: str
    sha256: str
    sha512: str
    size: int
    file_id: int
    metadata_sha256: str | None  # a Python distribution's PEP 658 metadata, when it has one


class ArtifactLookup:
    """The one query, on a connection of this process's own, in autocommit mode.

    ``find`` returns ``None`` when the fast path must not answer (not found, several files
    for a native download, unpublished, quarantined) and raises on database errors (the
    caller falls back).

    SQLite (``find_now``, on the event loop): ``PRAGMA data_version`` tells whether any
    connection of any process committed since the last query; while nothing was committed,
    the answers found since are still the database's answers and are reused, otherwise they
    are dropped and the query runs (a local, indexed read: tens of microseconds).
    PostgreSQL (``find``): concurrent downloads share one query (``Coalescer``), each answered
    by a query that started after it arrived.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self._conn: Any = None
        self._sql = _QUERY.format(ph="?")
        self._file_sql = self._sql + _FILE_CONDITION.format(ph="?")
        self._lock = threading.Lock()
        self._pg = [LoopConnection(engine)]  # one lane: two measured slower here
        self._version: int | None = None
        self._known: dict[Key, Servable | None] = {}
        self._batches: Coalescer[Key, Servable] = Coalescer(self._fetch, len(self._pg))

    async def find(self, key: Key) -> Servable | None:
        if self.sqlite:
            return self.find_now(key)
        return await self._batches.get(key)

    def submit(self, key: Key) -> asyncio.Future[Servable | None]:
        """PostgreSQL only: ``find`` as a future, for callers that are callbacks."""
        return self._batches.submit(key)

    def answer_with(self, key: Key, then: Callable[[Servable | None], Answer | None]
                    ) -> Answer | Pending | None:
        """For the protocol's answerers: ``then`` of what ``find`` returns, now on SQLite,
        once the shared query returns on PostgreSQL. ``None`` (the application looks it up
        again, and logs and maps the error) when the query fails."""
        if not self.sqlite:
            return Pending(self.submit(key), partial(_then, then))
        try:
            found = self.find_now(key)
        except Exception:
            return None
        return then(found)

    def find_now(self, key: Key) -> Servable | None:
        """SQLite only: the answer, on the calling thread."""
        with self._lock:
            if self._conn is None:
                self._conn = own_connection(self.engine)
            current = self._conn.execute("PRAGMA data_version").fetchone()[0]
            if current != self._version:
                self._known.clear()
                self._version = current
            elif key in self._known:
                return self._known[key]
            rows = (self._conn.execute(self._file_sql, key).fetchmany(2) if key[3] else
                    self._conn.execute(self._sql, key[:3]).fetchmany(2))
            found = _servable(rows[0]) if len(rows) == 1 else None
            if len(self._known) > 100_000:
                self._known.clear()
            self._known[key] = found
            return found

    async def _fetch(self, lane: int, keys: list[Key]) -> dict[Key, Servable]:
        """PostgreSQL: the servable ones of ``keys``, one query on the event loop."""
        rows = await self._pg[lane].query("vouch_downloads", _BATCH_QUERY, [
            text_array(k[part] for k in keys) for part in range(4)])
        by_key: dict[Key, list[Any]] = {}
        for row in rows:  # text: bytes, None for NULL
            key = (_text(row[0]), _text(row[1]), _text(row[2]), _text(row[3]))
            by_key.setdefault(key, []).append(row)
        found = {}
        for key, matches in by_key.items():
            if len(matches) != 1:
                continue
            (status, version_id, unpublished, quarantined, filename, sha256, sha512, size,
             file_id, metadata) = matches[0][4:]
            servable = _servable((key[1], _text(status), version_id, unpublished, quarantined,
                                  _text(filename), _text(sha256), _text(sha512), size,
                                  file_id, None if metadata is None else _text(metadata)))
            if servable is not None:
                found[key] = servable
        return found

    def close(self) -> None:
        for lane in self._pg:
            lane.close()
        with self._lock:
            conn, self._conn = self._conn, None
            self._version = None
            self._known.clear()
        if conn is not None:
            try:
                conn.close()
            except Exception:  # already broken: nothing to release
                log.debug("closing the download lookup connection failed", exc_info=True)


def _then(then: Callable[[Servable | None], Answer | None],
          future: asyncio.Future[Servable | None]) -> Answer | None:
    if future.cancelled() or future.exception() is not None:
        return None
    return then(future.result())


def _text(value: bytes | None) -> str:
    return value.decode("utf-8", errors="replace") if value is not None else ""


def _servable(row: Any) -> Servable | None:
    (pkg, status, version_id, unpublished, quarantined, filename, sha256, sha512, size,
     file_id, metadata) = row
    if unpublished is not None or quarantined is not None or status == "quarantined":
        return None
    return Servable(pkg, int(version_id), filename, sha256, sha512, int(size), int(file_id),
                    metadata)


class BodyCache:
    """Small artifacts' bytes by sha256 (write-once, so never stale), least recently used
    first out beyond ``limit`` bytes. Whether a version may be served is never decided here."""

    def __init__(self, limit: int = BODY_CACHE_BYTES) -> None:
        self.limit = limit
        self._bodies: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, sha256: str) -> tuple[bytes, float] | None:
        with self._lock:
            found = self._bodies.get(sha256)
            if found is not None:
                self._bodies.move_to_end(sha256)
            return found

    def put(self, sha256: str, body: bytes, mtime: float) -> None:
        with self._lock:
            if sha256 in self._bodies or len(body) > self.limit:
                return
            self._bodies[sha256] = (body, mtime)
            self._size += len(body)
            while self._size > self.limit:
                _, (old, _) = self._bodies.popitem(last=False)
                self._size -= len(old)


class FastDownloads:
    """ASGI middleware: answer plain artifact downloads from one query; defer the rest."""

    def __init__(self, app: ASGIApp, registry: Any, lookup: ArtifactLookup,
                 bodies: BodyCache | None = None) -> None:
        self.app = app
        self.registry = registry
        self.lookup = lookup
        self.bodies = bodies or BodyCache()
        self.local_blobs = isinstance(registry.blobs, FilesystemBlobStore)
        self.accel = (registry.settings.accel_redirect_prefix or "").rstrip("/") or None
        self.redirect = presigned_redirect(registry)  # S3 redirect mode: 307s (issue 16)
        self._off_until = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = _target(scope)
        if (target is None or time.monotonic() < self._off_until or tried(scope)
                or not (self.local_blobs or (self.redirect and not target[3]))):
            # pip's downloads are not redirected to S3 (the routed path streams them)
            await self.app(scope, receive, send)
            return
        try:
            found = await self.lookup.find(target)
        except Exception:
            log.warning("download fast path: database error; using the routed path for %ss",
                        RETRY_AFTER, exc_info=True)
            self.lookup.close()
            self._off_until = time.monotonic() + RETRY_AFTER
            found = None
        if found is None or (found.size > SMALL_BODY and self.accel is None
                             and self.redirect is None):
            # Not servable here (unknown, unpublished, quarantined: the routed path's problem
            # documents), or big without a proxy to hand it to: the routed path streams it.
            await self.app(scope, receive, send)
            return
        answer = await self._answer(found, scope["method"],
                                    request_header(scope, b"if-none-match"))
        if answer is None:
            await self.app(scope, receive, send)
            return
        status, headers, body = answer
        if status in (200, 307) and scope["method"] == "GET":
            self.registry.downloads.hit(found.version_id, found.package)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def answer(self, scope: Scope) -> Answer | Pending | None:
        """The protocol's answerer (``app.core.protocol_answers``), on the front door's
        instance: a plain anonymous download of a live version whose bytes are in
        ``bodies``, or are larger than ``SMALL_BODY`` (the protocol sends the blob file), or
        a 304, or with ``accel_redirect_prefix`` set a hand-off of any size to the proxy in
        front, decided by the same lookup as every download and counted the same way.
        Everything else (a hand-off to S3, small bytes not read yet, a lookup that fails)
        goes to the application."""
        target = _target(scope)
        if (target is None or not self.local_blobs
                or self.redirect is not None or time.monotonic() < self._off_until
                or not plain_anonymous(scope)):
            return None
        return self.lookup.answer_with(target, partial(self._counted, scope))

    def _counted(self, scope: Scope, found: Servable | None) -> Answer | None:
        """``_answer_now``'s answer, a GET's 200 counted as a download."""
        if found is None:
            return None
        answer = self._answer_now(scope, found)
        if answer is not None and answer.status == 200 and scope["method"] == "GET":
            self.registry.downloads.hit(found.version_id, found.package)
        return answer

    def _answer_now(self, scope: Scope, found: Servable) -> Answer | None:
        headers = _identity(found)
        if request_header(scope, b"if-none-match") == headers[0][1]:
            return Answer(304, header_lines(headers), b"")
        if self.accel is not None:
            handed = self._handed_to_proxy(found)
            return None if handed is None else Answer(200, header_lines(headers + handed), b"")
        if found.size > SMALL_BODY:
            return self._file_answer(scope, found, headers)
        cached = self.bodies.get(found.sha256)
        if cached is None:
            return None  # the application reads the bytes (in a thread) and keeps them
        return Answer(200, header_lines(headers + _local(*cached)),
                      cached[0] if scope["method"] == "GET" else b"")

    def _file_answer(self, scope: Scope, found: Servable,
                     headers: list[tuple[bytes, bytes]]) -> Answer | None:
        """A big body, sent by the protocol from the open blob with ``sendfile``
        (``FileBody``); None when the bytes are gone or not the recorded size (the routed
        path explains: it waits for the unpublish that removed them)."""
        path = self.registry.blobs.local_path(found.sha256)
        if path is None:
            return None
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            stat = os.fstat(fd)
        except OSError:
            stat = None
        if stat is None or stat.st_size != found.size:
            os.close(fd)
            return None
        head = header_lines(headers + _local_headers(found.size, stat.st_mtime))
        if scope["method"] != "GET":
            os.close(fd)
            return Answer(200, head, b"")
        return Answer(200, head, b"", file=FileBody(fd, found.size))

    async def _answer(self, found: Servable, method: str, if_none_match: bytes | None
                      ) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        """(status, headers, body), or None: the routed path answers."""
        headers = _identity(found)
        etag = headers[0][1]
        if if_none_match == etag:
            return 304, headers, b""
        if self.redirect is not None:  # S3 redirect mode; HEAD is the routed path's
            return (307, [(k.lower().encode(), v.encode()) for k, v in self.redirect(
                found.sha256, found.sha512, found.filename)] + [(b"content-length", b"0")],
                    b"") if method == "GET" else None
        if self.accel is not None:
            handed = self._handed_to_proxy(found)
            return None if handed is None else (200, headers + handed, b"")
        cached = self.bodies.get(found.sha256)
        if cached is None:
            cached = await anyio.to_thread.run_sync(self._read, found.sha256)
            if cached is None:
                return None
            self.bodies.put(found.sha256, *cached)
        headers += _local(*cached)
        return 200, headers, cached[0] if method == "GET" else b""

    def _handed_to_proxy(self, found: Servable) -> list[tuple[bytes, bytes]] | None:
        """The headers that hand ``found``'s blob file to the proxy in front
        (``X-Accel-Redirect``, no body), or None when the file is gone: checked before any
        header goes out, as on the routed path, which explains bytes gone now (it waits for
        the unpublish that removed them). The check is one ``stat`` of a local file (the
        hand-off needs local blobs), made on the event loop as ``_file_answer``'s ``open``."""
        path = self.registry.blobs.local_path(found.sha256)
        if path is None or not os.path.isfile(path):
            return None
        return [(b"content-type", b"application/octet-stream"), (b"content-length", b"0"),
                (b"x-accel-redirect", f"{self.accel}/{blob_key(found.sha256)}".encode())]

    def _read(self, sha256: str) -> tuple[bytes, float] | None:
        """The blob's bytes and mtime, or None when they are gone (the routed path waits for
        the unpublish that removed them) or larger than a small body."""
        try:
            stream = self.registry.blobs.open(sha256)
        except BlobNotFound:
            return None
        with stream:
            stat = os.fstat(stream.fileno())
            if stat.st_size > SMALL_BODY:
                return None  # never for a write-once blob of the recorded size; stay safe
            return stream.read(), stat.st_mtime


def _identity(found: Servable) -> list[tuple[bytes, bytes]]:
    """The headers every answer about ``found`` carries (ETag first), a 304's included."""
    digest = base64.b64encode(bytes.fromhex(found.sha256)).decode()
    return [
        (b"etag", f'"{found.sha256}"'.encode()),
        (b"repr-digest", f"sha-256=:{digest}:".encode()),
        (b"cache-control", _IMMUTABLE),
        (b"x-checksum-sha512", found.sha512.encode()),
        (b"content-disposition", f'attachment; filename="{found.filename}"'.encode()),
    ]


def _local(body: bytes, mtime: float) -> list[tuple[bytes, bytes]]:
    """A 200's headers for bytes sent from here."""
    return _local_headers(len(body), mtime)


def _local_headers(size: int, mtime: float) -> list[tuple[bytes, bytes]]:
    return [(b"content-type", b"application/octet-stream"), (b"accept-ranges", b"bytes"),
            (b"content-length", str(size).encode()),
            (b"last-modified", formatdate(mtime, usegmt=True).encode())]


def _target(scope: Scope) -> Key | None:
    """The key of a plain ``GET``/``HEAD /api/v1/packages/{package}/versions/{version}/artifact``,
    ``/pypi/files/{name}/{version}/{filename}`` (not a ``.metadata`` file: PEP 658's
    metadata is ``app.pypi.fast_metadata``'s) or ``/npm/[@{scope}/]{name}/-/{file}.tgz``."""
    if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
        return None
    path: str = scope["path"]
    if scope.get("query_string") or request_header(scope, b"range") is not None:
        return None
    if path.startswith(PYPI_FILES):
        file = pypi_file(path)
        if file is None or file[2].endswith(METADATA):
            return None
        return PYPI, *file
    if path.startswith(NPM_PREFIX):
        return _npm_target(path[len(NPM_PREFIX):])
    if not path.startswith(PREFIX) or not path.endswith(SUFFIX):
        return None
    # As the route's pattern matches: the package is greedy, the version one segment.
    package, sep, version = path[len(PREFIX):-len(SUFFIX)].rpartition("/versions/")
    if not sep or not package or not version or "/" in version:
        return None
    return GENERIC, package, version, ""


def pypi_file(path: str) -> tuple[str, str, str] | None:
    """(name, version, filename) of ``/pypi/files/{name}/{version}/{filename}``, as the route's
    pattern matches: three segments, none empty."""
    if not path.startswith(PYPI_FILES):
        return None
    parts = path[len(PYPI_FILES):].split("/")
    if len(parts) != 3 or not all(parts):
        return None
    return parts[0], parts[1], parts[2]


def _npm_target(rest: str) -> Key | None:
    """``{name}/-/{file}`` or ``@{scope}/{name}/-/{file}``, as the tarball routes match, with
    the version the file name names (as ``NpmService.tarball`` reads it)."""
    name, sep, filename = rest.partition("/-/")
    segments = name.split("/")
    if (not sep or not filename or "/" in filename or not all(segments)
            or len(segments) != (2 if name.startswith("@") else 1)):
        return None
    try:
        version = version_of_tarball(name, filename)
    except FormatError:  # not an npm name, or not a tarball of it: the routed path explains
        return None
    return NPM, name, version, ""


def request_header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None

