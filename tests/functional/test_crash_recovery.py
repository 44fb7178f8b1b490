"""Processes killed with ``kill -9`` (issue 10): what they leave behind is cleaned up, and only
that; what a live process is still writing is never touched.

* A real `vouch serve` is killed while it holds a large upload (the publish waits on a
  transparency log that stalls): its staged upload stays in ``data/staging``. A process
  copying a blob into ``data/blobs/.tmp`` is killed too. After a restart both are gone, while
  the files of a second, live `vouch serve` sharing the data directory (and of a live blob
  writer) are still there. `vouch admin sweep-blobs` does the same and reports it.
* A real `vouch worker` is killed while it holds a claim on an outbox item (its search cluster
  stalls); a second worker handles the item within a generous bound instead of after minutes.

Runs on SQLite and, with ``VOUCH_TEST_DB=postgres``, on PostgreSQL (the processes share the
test's database). No timing assertions: only "eventually, within a generous bound".
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlmodel import select

from app.core.clock import as_utc
from app.core.db import make_engine, session_scope
from app.core.models import OutboxItem
from app.core.records import enqueue
from tests.support.sigstore_local import GitHubIdentity, SigstoreInstance
from tests.support.vouch_process import ROOT, StallingPeer, VouchProcess, process_env, vouch_cli

IDENTITY = GitHubIdentity(repository="acme/widget", workflow="release.yml",
                          ref="refs/tags/v1.0.0")
ARTIFACT_SIZE = 8 * 1024 * 1024
BLOB_SIZE, WRITTEN = 3 << 20, 2 << 20  # a blob copy killed after 2 of its 3 MiB
BOUND = 60.0  # seconds: a ceiling for polling, never an expectation


def eventually(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + BOUND
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {BOUND:.0f} s: {what}")
        time.sleep(0.05)


# ---- a slow publisher on a raw socket -------------------------------------------------------


def _multipart(fields: list[tuple[str, str | None, bytes]]) -> tuple[str, bytes]:
    boundary = "vouch-crash-" + os.urandom(8).hex()
    parts = []
    for name, filename, content in fields:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename
                                                    else "")
        parts.append(f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
                     "Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
    return boundary, b"".join(parts) + f"--{boundary}--\r\n".encode()


def slow_publish(url: str, token: str, version: str, data: bytes, bundle: bytes) -> socket.socket:
    """Send a signed publish in 256 KiB pieces and return the socket (no answer read yet)."""
    boundary, body = _multipart([
        ("metadata", None, json.dumps({"description": "crash test"}).encode()),
        ("sigstore_bundle", "bundle.sigstore.json", bundle),
        ("artifact", f"widget-{version}.tgz", data),
    ])
    where = urlsplit(url)
    sock = socket.create_connection((where.hostname, where.port), timeout=120)
    sock.sendall(f"PUT /api/v1/packages/@acme/widget/versions/{version} HTTP/1.1\r\n"
                 f"Host: {where.netloc}\r\nAuthorization: Bearer {token}\r\n"
                 f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                 f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode())
    for start in range(0, len(body), 256 * 1024):
        sock.sendall(body[start:start + 256 * 1024])
        time.sleep(0.005)
    return sock


def read_status(sock: socket.socket) -> tuple[int, str]:
    with sock:
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode(errors="replace")


# ---- a blob writer fed through a pipe -------------------------------------------------------


class BlobWriter:
    """A process running ``FilesystemBlobStore.put_file`` whose source is a named pipe: it
    holds a ``blobs/.tmp/put-*`` file for as long as the test keeps the pipe open."""

    def __init__(self, blob_root: Path, fifo: Path, data: bytes) -> None:
        self.data = data
        os.mkfifo(fifo)
        code = ("import sys; from pathlib import Path; "
                "from app.storage.filesystem import FilesystemBlobStore; "
                "FilesystemBlobStore(Path(sys.argv[1])).put_file(sys.argv[2], Path(sys.argv[3]))")
        self.tmp_dir = blob_root / ".tmp"
        before = {p.name for p in self.tmp_dir.glob("put-*")}
        self.proc = subprocess.Popen([sys.executable, "-c", code, str(blob_root),
                                      hashlib.sha256(data).hexdigest(), str(fifo)],
                                     cwd=ROOT, env=process_env({}))
        self.pipe = os.open(fifo, os.O_WRONLY)  # returns once the writer opened its end
        # put_file copies in 1 MiB reads: two whole reads land in the file, the third waits.
        os.write(self.pipe, data[:WRITTEN])
        eventually(lambda: self._own_file(before) is not None, "the blob writer's temp file")
        self.temp_file: Path = self._own_file(before)  # type: ignore[assignment]
        eventually(lambda: self.temp_file.stat().st_size == WRITTEN, "a partly copied blob")

    def _own_file(self, before: set[str]) -> Path | None:
        new = [p for p in self.tmp_dir.glob("put-*") if p.name not in before]
        return new[0] if len(new) == 1 else None

    def kill9(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=30)
        os.close(self.pipe)

    def finish(self) -> None:
        os.write(self.pipe, self.data[WRITTEN:])
        os.close(self.pipe)
        assert self.proc.wait(timeout=60) == 0


# ---- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def rekor() -> Iterator[StallingPeer]:
    with StallingPeer() as peer:
        yield peer


@pytest.fixture
def env(tmp_path: Path, database_url: str, sigstore_trusted_root_path: Path,
        rekor: StallingPeer) -> dict[str, str]:
    """Every `vouch serve` here shares one data directory and one database; Sigstore
    publishes wait on a transparency log that stalls (fail-closed lookups)."""
    return {
        "VOUCH_DATA_DIR": str(tmp_path / "data"),
        "VOUCH_DATABASE_URL": database_url,
        "VOUCH_ENVIRONMENT": "development",
        "VOUCH_DEFAULT_SIGNATURE_POLICY": "sigstore",
        "VOUCH_SIGSTORE_TRUST": str(sigstore_trusted_root_path),
        "VOUCH_REKOR_MODE": "fail_closed",
        "VOUCH_REKOR_URL": rekor.url,
        "VOUCH_MAX_UPLOAD_BYTES": str(4 * ARTIFACT_SIZE),
        "VOUCH_RUN_WORKER": "false",
    }


def _owner_token(env: dict[str, str], url: str) -> str:
    vouch_cli("admin", "create-user", "olga", env=env)
    token = vouch_cli("admin", "create-token", "olga", env=env).stdout.strip()
    client = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})
    assert client.post("/api/v1/orgs", json={"name": "acme"}).status_code == 201
    assert client.post("/api/v1/trusted-publishers", json={
        "target": "@acme/widget", "repository": "acme/widget",
        "workflow": "release.yml"}).status_code == 201
    return token


def _names(directory: Path, pattern: str) -> set[str]:
    return {p.name for p in directory.glob(pattern)}


# ---- the tests ------------------------------------------------------------------------------


def test_leftovers_of_a_killed_server_are_removed_at_restart_and_live_files_are_kept(
        tmp_path: Path, env: dict[str, str], rekor: StallingPeer,
        sigstore_instance: SigstoreInstance) -> None:
    data_dir = Path(env["VOUCH_DATA_DIR"])
    staging, blob_tmp = data_dir / "staging", data_dir / "blobs" / ".tmp"

    def staged_of_size(size: int) -> set[str]:
        return {p.name for p in staging.glob("upload-*") if p.stat().st_size == size}

    # Two servers share the data directory and the database (as two replicas do).
    with VouchProcess.serve(env, log=tmp_path / "a.log") as server_a, \
            VouchProcess.serve(env, log=tmp_path / "b.log") as server_b:
        assert server_a.url is not None and server_b.url is not None
        token = _owner_token(env, server_a.url)

        # 1. Server B holds a whole upload while the transparency log stalls: a live file.
        second = os.urandom(ARTIFACT_SIZE // 2)
        held = slow_publish(server_b.url, token, "1.0.1", second,
                            sigstore_instance.sign_artifact(second, IDENTITY))
        eventually(lambda: len(staged_of_size(len(second))) == 1, "server B's staged upload")
        live_staged = staged_of_size(len(second))

        # 2. Server A is killed with -9 while it holds another upload: a dead file.
        artifact = os.urandom(ARTIFACT_SIZE)
        pending = slow_publish(server_a.url, token, "1.0.0", artifact,
                               sigstore_instance.sign_artifact(artifact, IDENTITY))
        eventually(lambda: len(staged_of_size(ARTIFACT_SIZE)) == 1, "server A's staged upload")
        server_a.kill9()
        pending.close()
        dead_staged = staged_of_size(ARTIFACT_SIZE)
        assert _names(staging, "upload-*") == live_staged | dead_staged

        # 3. A blob copy dies part-way (dead), another one is still being written (live).
        dead_writer = BlobWriter(data_dir / "blobs", tmp_path / "fifo-dead",
                                 os.urandom(BLOB_SIZE))
        dead_writer.kill9()
        live_writer = BlobWriter(data_dir / "blobs", tmp_path / "fifo-live",
                                 os.urandom(BLOB_SIZE))
        assert _names(blob_tmp, "put-*") == {dead_writer.temp_file.name,
                                             live_writer.temp_file.name}

        # 4. Server A restarts: the dead files go, the live ones stay.
        with VouchProcess.serve(env, log=tmp_path / "a2.log") as server_a2:
            assert server_a2.url is not None
            assert httpx.get(server_a2.url + "/readyz").json() == {"status": "ready"}
            assert _names(staging, "upload-*") == live_staged
            assert _names(blob_tmp, "put-*") == {live_writer.temp_file.name}
            removed = ARTIFACT_SIZE + WRITTEN
            assert f"removed 2 abandoned temporary files ({removed} bytes)" in server_a2.output()

            # 5. `vouch admin sweep-blobs` removes a new leftover, and only that.
            again = BlobWriter(data_dir / "blobs", tmp_path / "fifo-again",
                               os.urandom(BLOB_SIZE))
            again.kill9()
            swept = vouch_cli("admin", "sweep-blobs", env=env)
            assert f"removed 1 abandoned temporary file ({WRITTEN} bytes)" in swept.stderr
            assert _names(staging, "upload-*") == live_staged
            assert _names(blob_tmp, "put-*") == {live_writer.temp_file.name}

        # 6. The live ones finish on their own and clean up after themselves.
        rekor.release()
        status, body = read_status(held)
        assert status == 503 and json.loads(body)["code"] == "rekor_unavailable", body
    live_writer.finish()
    assert _names(staging, "*") == set()
    assert _names(blob_tmp, "*") == set()


def test_an_outbox_item_claimed_by_a_killed_worker_is_handled_by_another(
        tmp_path: Path, database_url: str) -> None:
    engine = make_engine(database_url)
    created = datetime.now(UTC)
    with session_scope(engine, write=True) as session:
        enqueue(session, at=created, kind="search.reindex", package="widget")

    def item() -> OutboxItem:
        with session_scope(engine) as session:
            return session.exec(select(OutboxItem)).one()

    def claimed() -> bool:
        current = item()
        available = as_utc(current.available_at)
        return current.processed_at is None and available > datetime.now(UTC)

    common = {"VOUCH_DATABASE_URL": database_url, "VOUCH_ENVIRONMENT": "development"}
    try:
        # Worker 1's search cluster stalls: it claims the item and hangs in the handler.
        with StallingPeer() as search, VouchProcess.start(
                "worker", log=tmp_path / "w1.log",
                env=common | {"VOUCH_DATA_DIR": str(tmp_path / "w1"),
                              "VOUCH_SEARCH_BACKEND": "elasticsearch",
                              "VOUCH_ELASTICSEARCH_URL": search.url}) as worker_1:
            assert search.requests.wait(BOUND), worker_1.output()
            eventually(claimed, "worker 1's claim")
            worker_1.kill9()
        assert item().processed_at is None

        # Worker 2 (a working embedded index) picks it up once the dead claim lapses.
        with VouchProcess.start("worker", log=tmp_path / "w2.log",
                                env=common | {"VOUCH_DATA_DIR": str(tmp_path / "w2")}) as worker_2:
            eventually(lambda: item().processed_at is not None, "worker 2 handling the item")
            assert item().attempts == 0, worker_2.output()
    finally:
        engine.dispose()
