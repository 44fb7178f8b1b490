"""Downloads larger than a small body are sent by `vouch serve`'s protocol from the blob file with
``sendfile`` (``FastDownloads._file_answer``, app/core/send_file.py): the same bytes and headers
as the routed path, counted the same way, the request complete (and the next one served) only
once the whole file is out, and a client that stops reading cut off without leaving the file
open.

The server is the test server, which speaks `vouch serve`'s protocol in this process, so the
blob file's descriptors are found among the process's own. The artifacts are bigger than
loopback's socket buffers, so the socket fills and the protocol waits for the client to drain
it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from app.publishing.fast_downloads import SMALL_BODY
from tests.conftest import Actors
from tests.functional.helpers import assert_problem, publish
from tests.functional.test_download_fast_path import SAME_HEADERS
from tests.functional.test_protocol_answered_reads import _ask, _scope

SIZE = 12 * 1024 * 1024 + 5  # several socket buffers; not a multiple of any chunk
PATH = "/api/v1/packages/bigpkg/versions/1.0.0/artifact"
CEILING = 30.0  # seconds a test waits before giving up, never an expectation of speed

pytestmark = pytest.mark.parametrize(
    "settings_overrides", [{"request_body_idle_timeout": timedelta(seconds=1),
      "max_upload_bytes": 16 * 1024 * 1024}], indirect=True)


def _big() -> bytes:
    """Bytes whose every 4 KiB differs, so a misplaced slice cannot compare equal."""
    block = bytes(range(256)) * 16
    return b"".join(i.to_bytes(4, "big") + block[4:] for i in range(SIZE // 4096 + 1))[:SIZE]


@pytest.fixture
def alice(actors: Actors) -> httpx.Client:
    return actors.client(actors.user("alice"))


@pytest.fixture
def big(alice: httpx.Client) -> bytes:
    data = _big()
    assert publish(alice, "bigpkg", "1.0.0", data).status_code == 201
    return data


def _downloads(actors: Actors) -> int:
    actors.server.registry.downloads.flush()
    with actors.server.registry.engine.connect() as conn:
        count: int = conn.execute(text(
            "SELECT v.downloads FROM package_versions v JOIN packages p ON p.id = v.package_id "
            "WHERE p.name = 'bigpkg' AND v.version = '1.0.0'")).scalar_one()
    return count


def _port(actors: Actors) -> int:
    return int(actors.server.url.rsplit(":", 1)[1])


def _opened(path: Path) -> int:
    """How many of this process's (the test server's) descriptors are open on ``path``."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # closed meanwhile
            count += os.readlink(f"/proc/self/fd/{fd}") == str(path)
    return count


def _until(condition: Callable[[], bool]) -> bool:
    """Whether ``condition`` holds within CEILING seconds."""
    give_up = time.monotonic() + CEILING
    while not condition():
        if time.monotonic() > give_up:
            return False
        time.sleep(0.05)
    return True


def _read_response(sock: socket.socket, buffered: bytes = b"", *,
                   to_head: bool = False) -> tuple[bytes, bytes, bytes]:
    """(head, body, what follows) of one response with a content-length, read from ``sock``
    (``to_head``: the answer to a HEAD, no body)."""
    data = buffered
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the connection ended inside a head"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = 0 if to_head else next(int(line.split(":", 1)[1]) for line in lines[1:]
                                    if line.lower().startswith("content-length:"))
    while len(rest) < length:
        chunk = sock.recv(1 << 20)
        assert chunk, f"the connection ended after {len(rest)} of {length} body bytes"
        rest += chunk
    return head, rest[:length], rest[length:]


def test_a_big_download_is_sent_whole_with_the_routed_paths_headers(
        actors: Actors, big: bytes) -> None:
    assert len(big) > SMALL_BODY
    answer = _ask(actors, _scope(PATH))  # the protocol's answerer takes it: a file to send
    assert answer is not None and answer.status == 200 and answer.file is not None
    assert answer.body == b"" and answer.file.size == len(big)
    os.close(answer.file.fd)  # ours to close: the protocol closes the ones it is given
    before = _downloads(actors)

    anonymous = actors.client()
    fast = anonymous.get(PATH)
    routed = anonymous.get(PATH, headers={"Range": f"bytes=0-{len(big) - 1}"})  # routed path
    assert fast.status_code == 200 and routed.status_code == 206
    assert fast.content == big and routed.content == big
    assert fast.headers["content-length"] == str(len(big))
    for header in SAME_HEADERS:
        assert fast.headers[header] == routed.headers[header], header
    head = anonymous.head(PATH)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(big))
    etag = fast.headers["etag"]
    assert anonymous.get(PATH, headers={"If-None-Match": etag}).status_code == 304
    for _ in range(3):  # kept alive: each request on the connection completes after its file
        assert anonymous.get(PATH).content == big
    assert _downloads(actors) == before + 1 + 1 + 3  # GET 200s: the fast ones and the 206


def test_a_pipelined_request_waits_for_the_whole_file(actors: Actors, big: bytes) -> None:
    host = "Host: test\r\n"
    with socket.create_connection(("127.0.0.1", _port(actors)), timeout=CEILING) as sock:
        sock.sendall((f"GET {PATH} HTTP/1.1\r\n{host}\r\n"
                      f"HEAD {PATH} HTTP/1.1\r\n{host}\r\n"
                      f"GET {PATH} HTTP/1.1\r\n{host}Connection: close\r\n\r\n").encode())
        head, body, rest = _read_response(sock)
        assert head.startswith(b"HTTP/1.1 200") and body == big
        second, nobody, rest = _read_response(sock, rest, to_head=True)
        assert second.startswith(b"HTTP/1.1 200") and nobody == b""
        data = rest
        while chunk := sock.recv(1 << 20):
            data += chunk
        third, _, _ = data.partition(b"\r\n\r\n")
        assert third.startswith(b"HTTP/1.1 200") and b"connection: close" in third.lower()
        assert data.endswith(big[-4096:]) and len(data) == len(third) + 4 + len(big)


def test_a_client_that_stops_reading_is_cut_off_and_the_file_closed(
        actors: Actors, big: bytes) -> None:
    digest = actors.client().head(PATH).headers["etag"].strip('"')
    blob = actors.server.registry.blobs.local_path(digest)
    assert blob is not None
    with socket.create_connection(("127.0.0.1", _port(actors)), timeout=CEILING) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(f"GET {PATH} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
        assert _until(lambda: _opened(blob) > 0)  # the answer's file, being sent
        time.sleep(2.5)  # reads nothing for longer than request_body_idle_timeout (1 s)
        received = b""
        try:
            while chunk := sock.recv(1 << 20):
                received += chunk
        except ConnectionResetError:
            pass  # aborted: what was in flight may be dropped
    _, _, body = received.partition(b"\r\n\r\n")
    assert len(body) < len(big)  # cut off: the content-length says the response is short
    assert big.startswith(body)
    assert _until(lambda: _opened(blob) == 0)  # the blob file is closed with the connection
    # The server goes on serving, the same file included.
    assert actors.client().get(PATH).content == big


def test_a_big_download_still_follows_the_security_state(actors: Actors, alice: httpx.Client,
                                                         big: bytes) -> None:
    anonymous = actors.client()
    assert anonymous.get(PATH).content == big
    assert alice.delete(PATH.removesuffix("/artifact")).status_code == 204
    assert _ask(actors, _scope(PATH)) is None
    assert_problem(anonymous.get(PATH), 410, "version_unpublished")
    # A token presented is the application's to check, whatever the size.
    assert_problem(anonymous.get(PATH, headers={"Authorization": "Bearer vch_forged"}),
                   401, "invalid_token")


def test_bytes_not_of_the_recorded_size_are_never_sent_from_the_file(
        actors: Actors, big: bytes) -> None:
    anonymous = actors.client()
    digest = anonymous.head(PATH).headers["etag"].strip('"')
    path = actors.server.registry.blobs.local_path(digest)
    assert path is not None
    path.chmod(0o644)
    path.write_bytes(big[:-1])  # not the recorded size: never sent as it is
    assert _ask(actors, _scope(PATH)) is None
