"""Python packages (issue 14): a file whose bytes vanish while it is being served, the one
sdist per release decided by the database, and what an unsigned upload is told to send."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import BinaryIO

import httpx

from tests.conftest import Actors, state_counts
from tests.functional.helpers import assert_problem, publish
from tests.support.pydists import build_wheel
from tests.support.server import RunningServer


def _sign(actors: Actors, user: str, data: bytes) -> bytes:
    return actors.signers[user].sign(data)  # type: ignore[attr-defined,no-any-return]


def _post(server: RunningServer, token: str, path: Path, *, data: bytes | None = None,
          filetype: str = "bdist_wheel", signature: bytes | None = None,
          version: str = "1.0", name: str | None = None) -> httpx.Response:
    body = path.read_bytes() if data is None else data
    fields = {":action": "file_upload", "protocol_version": "1", "filetype": filetype,
              "sha256_digest": hashlib.sha256(body).hexdigest(), "version": version,
              **({"name": name} if name else {})}
    files = {"content": (path.name, body, "application/octet-stream")}
    if signature is not None:
        files["gpg_signature"] = (path.name + ".asc", signature, "application/octet-stream")
    with httpx.Client(base_url=server.url, auth=("__token__", token), timeout=60) as http:
        return http.post("/legacy/", data=fields, files=files)


def test_a_file_purged_while_it_is_opened_answers_410_not_404(
        server: RunningServer, actors: Actors, tmp_path: Path) -> None:
    """The Python file's row says live when the request reads it; its bytes are gone when it
    opens them (a real unpublish over HTTP commits in between): 410 version_unpublished."""
    token = actors.user("alice")
    wheel = build_wheel(tmp_path, "late", "1.0")
    response = _post(server, token, wheel, signature=_sign(actors, "alice", wheel.read_bytes()))
    assert response.status_code == 200, response.text
    blobs = server.registry.blobs
    original_open = blobs.open
    unpublished = threading.Event()

    def open_after_unpublish(digest: str) -> BinaryIO:
        if not unpublished.is_set():
            unpublished.set()
            gone = actors.client(token).delete("/api/v1/pypi/late/1.0")
            assert gone.status_code == 204, gone.text
        return original_open(digest)

    blobs.open = open_after_unpublish  # type: ignore[method-assign,assignment]
    try:
        assert_problem(httpx.get(f"{server.url}/pypi/files/late/1.0/{wheel.name}"), 410,
                       "version_unpublished")
    finally:
        blobs.open = original_open  # type: ignore[method-assign]
    assert unpublished.is_set() and blobs.keys() == []


def test_an_unsigned_upload_is_told_what_twine_and_uv_send(
        server: RunningServer, actors: Actors, tmp_path: Path) -> None:
    token = actors.user("alice")
    wheel = build_wheel(tmp_path, "bare", "1.0")
    before = state_counts(server)
    response = _post(server, token, wheel)
    body = assert_problem(response, 400, "signature_required")
    assert "sigstore_bundle" not in body["detail"]
    assert "twine upload --attestations" in body["detail"] and "uv publish" in body["detail"]
    assert ".asc" in body["detail"]
    assert state_counts(server) == before
    # The native API keeps its own wording.
    native = assert_problem(publish(actors.client(token), "bare", "1.0.0", signed=False), 400,
                            "signature_required")
    assert native["detail"].endswith("send a Sigstore bundle (sigstore_bundle) or a detached "
                                     "GPG signature (gpg_signature)")
