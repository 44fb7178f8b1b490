"""Artifact downloads on a pure ASGI fast path: one query and one thread hop, no session.

    lookup = ArtifactLookup(registry.engine)               # closed at shutdown
    app.add_middleware(FastDownloads, registry=registry, lookup=lookup)

A download is decided from the database on every request, as on the routed path
(``routers/packages.py`` ``download_artifact``): nothing about whether a version may be
downloaded is cached. What the fast path saves is the rest: a SQLAlchemy session and three ORM
queries, three thread-pool hops (the session dependency, the sync route, the file response),
FastAPI's routing and dependency machinery, and a ``FileResponse`` streaming 1 KiB through the
thread pool. Here one indexed SQL statement on a connection of its own, in autocommit mode
(each statement reads the latest commit, so an unpublish or quarantine committed by any
replica applies to the next request), finds the package, version, file and blob; a live
version's bytes up to ``SMALL_BODY`` are read and sent in one message; with
``accel_redirect_prefix`` set, any size is handed to the proxy with ``X-Accel-Redirect``. The
query and the open run in one worker thread: a slow database or disk never stalls the loop.

Everything that is not that plain case goes to the routed path, which decides again from
scratch: unknown names and versions, unpublished or quarantined versions (their problem
documents live there), ``Range`` requests, bodies larger than ``SMALL_BODY``, remote blob
stores, bytes that are gone at open time (the routed path waits on the digest's lock, issue
10), and database errors (the routed path answers 503 ``database_unavailable``; the fast path
stays off for ``RETRY_AFTER`` seconds). Downloads are counted as on the routed path: GET 200.
"""

from __future__ import annotations

import base64
import logging
import os
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

import anyio.to_thread
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Receive, Scope, Send

from app.storage import BlobNotFound, FilesystemBlobStore, blob_key

log = logging.getLogger("vouch.downloads")

PREFIX = "/api/v1/packages/"
SUFFIX = "/artifact"
SMALL_BODY = 256 * 1024
RETRY_AFTER = 5.0
_IMMUTABLE = b"public, max-age=31536000, immutable"

_QUERY = """
SELECT p.name, p.status, v.id, v.unpublished_at, v.quarantined_at, f.filename,
       b.sha256, b.sha512, b.size
FROM packages p
JOIN package_versions v ON v.package_id = p.id
JOIN package_files f ON f.version_id = v.id
JOIN package_blobs b ON b.id = f.blob_id
WHERE p.ecosystem = 'generic' AND p.name = {ph} AND v.version = {ph}
"""


@dataclass(frozen=True)
class Servable:
    """A live version's one file, as the download answers it."""

    package: str
    version_id: int
    filename: str
    sha256: str
    sha512: str
    size: int


class ArtifactLookup:
    """The one query, on a connection of its own (one statement at a time, under a lock).

    ``find`` returns ``None`` when the fast path must not answer (not found, several files,
    unpublished, quarantined) and raises on database errors (the caller falls back)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Any = None
        self._sql = _QUERY.format(ph="?" if engine.dialect.name == "sqlite" else "%s")
        self._lock = threading.Lock()

    def find(self, name: str, version: str) -> Servable | None:
        with self._lock:
            if self._conn is None:
                self._conn = self._connect()
            cursor = self._conn.cursor()
            try:
                cursor.execute(self._sql, (name, version))
                rows = cursor.fetchmany(2)
            finally:
                cursor.close()
        if len(rows) != 1:
            return None
        pkg, status, version_id, unpublished, quarantined, filename, sha256, sha512, size = rows[0]
        if unpublished is not None or quarantined is not None or status == "quarantined":
            return None
        return Servable(pkg, int(version_id), filename, sha256, sha512, int(size))

    def _connect(self) -> Any:
        # A connection of the engine's own kind (SQLite pragmas, PostgreSQL driver), detached
        # from the pool: it lives as long as this process's event loop.
        fairy = self.engine.raw_connection()
        fairy.detach()
        conn: Any = fairy.dbapi_connection
        if self.engine.dialect.name == "sqlite":
            conn.isolation_level = None  # autocommit: each SELECT reads the latest commit
        else:
            conn.autocommit = True
        return conn

    def close(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # already broken: nothing to release
                log.debug("closing the download lookup connection failed", exc_info=True)


class FastDownloads:
    """ASGI middleware: answer plain artifact downloads from one query; defer the rest."""

    def __init__(self, app: ASGIApp, registry: Any, lookup: ArtifactLookup) -> None:
        self.app = app
        self.registry = registry
        self.lookup = lookup
        self.local_blobs = isinstance(registry.blobs, FilesystemBlobStore)
        self.accel = (registry.settings.accel_redirect_prefix or "").rstrip("/") or None
        self._off_until = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        target = _target(scope)
        if target is None or time.monotonic() < self._off_until:
            await self.app(scope, receive, send)
            return
        # One hop to a worker thread for the query and the open (a slow database or disk never
        # stalls the event loop); the routed path takes three hops and a session.
        answer = await anyio.to_thread.run_sync(self._prepare, *target, scope["method"],
                                                _header(scope, b"if-none-match"))
        if answer is None:
            await self.app(scope, receive, send)
            return
        status, headers, body, counted = answer
        if counted is not None:
            self.registry.downloads.hit(counted.version_id, counted.package)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _prepare(self, name: str, version: str, method: str, if_none_match: bytes | None
                 ) -> tuple[int, list[tuple[bytes, bytes]], bytes, Servable | None] | None:
        """(status, headers, body, the download to count) or None: the routed path answers."""
        try:
            found = self.lookup.find(name, version)
        except Exception:
            log.warning("download fast path: database error; using the routed path for %ss",
                        RETRY_AFTER, exc_info=True)
            self.lookup.close()
            self._off_until = time.monotonic() + RETRY_AFTER
            return None
        if found is None or not self.local_blobs or (found.size > SMALL_BODY
                                                     and self.accel is None):
            return None  # remote blob stores and big files: the routed path streams them
        etag = f'"{found.sha256}"'.encode()
        digest = base64.b64encode(bytes.fromhex(found.sha256)).decode()
        headers = [
            (b"etag", etag),
            (b"repr-digest", f"sha-256=:{digest}:".encode()),
            (b"cache-control", _IMMUTABLE),
            (b"x-checksum-sha512", found.sha512.encode()),
            (b"content-disposition", f'attachment; filename="{found.filename}"'.encode()),
        ]
        if if_none_match == etag:
            return 304, headers, b"", None
        # Opened before any header goes out (as on the routed path): bytes gone now are the
        # routed path's to explain (it waits for the unpublish that removed them).
        try:
            stream = self.registry.blobs.open(found.sha256)
        except BlobNotFound:
            return None
        with stream:
            stat = os.fstat(stream.fileno())
            if self.accel is not None:
                body = b""
                headers += [(b"content-type", b"application/octet-stream"),
                            (b"content-length", b"0"),
                            (b"x-accel-redirect",
                             f"{self.accel}/{blob_key(found.sha256)}".encode())]
            elif stat.st_size > SMALL_BODY:
                return None  # never for a write-once blob of the recorded size; stay safe
            else:
                body = stream.read() if method == "GET" else b""
                headers += [(b"content-type", b"application/octet-stream"),
                            (b"accept-ranges", b"bytes"),
                            (b"content-length", str(stat.st_size).encode()),
                            (b"last-modified", formatdate(stat.st_mtime, usegmt=True).encode())]
        return 200, headers, body, found if method == "GET" else None


def _target(scope: Scope) -> tuple[str, str] | None:
    """(package, version) of a plain ``GET``/``HEAD .../versions/{version}/artifact``."""
    if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
        return None
    path: str = scope["path"]
    if not path.startswith(PREFIX) or not path.endswith(SUFFIX) or scope.get("query_string"):
        return None
    if _header(scope, b"range") is not None:
        return None
    # As the route's pattern matches: the package is greedy, the version one segment.
    package, sep, version = path[len(PREFIX):-len(SUFFIX)].rpartition("/versions/")
    if not sep or not package or not version or "/" in version:
        return None
    return package, version


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None

