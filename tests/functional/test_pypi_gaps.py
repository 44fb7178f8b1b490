"""Python packages (issue 14): a file whose bytes vanish while it is being served, the one
sdist per release decided by the database, and what an unsigned upload is told to send."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

import httpx
import pytest
from sqlmodel import col, select

from app.core.db import session_scope
from app.core.models import Package, PackageFile, PackageVersion
from app.pypi import upload
from tests.conftest import Actors, state_counts
from tests.functional.helpers import assert_problem, publish
from tests.support.pydists import build_sdist, build_wheel
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


def _sdists(server: RunningServer, name: str) -> list[str]:
    with session_scope(server.registry.engine) as session:
        return sorted(session.exec(
            select(PackageFile.filename).join(
                PackageVersion, col(PackageVersion.id) == PackageFile.version_id)
            .join(Package, col(Package.id) == PackageVersion.package_id)
            .where(Package.name == name, PackageFile.filetype == "sdist")).all())


def _spellings(tmp_path: Path, count: int) -> list[Path]:
    """``count`` sdists of race 1.0 with different bytes and filename spellings."""
    paths = []
    for i, spelling in enumerate(["race", "Race", "RACE", "rAce", "raCe", "racE"][:count]):
        folder = tmp_path / f"s{i}"
        folder.mkdir()
        built = build_sdist(folder, "race", "1.0", filename_name=spelling,
                            requires_python=f">=3.{i}")  # different bytes
        paths.append(built.rename(built.with_name(f"{spelling}-1.0.tar.gz")))
    return paths


def test_the_database_keeps_one_sdist_per_release_when_the_check_reads_too_early(
        server: RunningServer, actors: Actors, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The deterministic form of the race: the upload's read check ran before the other sdist
    committed (here: it finds nothing, as it would have), so only the database can refuse the
    second sdist. It is 400 sdist_exists, and its bytes and rows are gone."""
    token = actors.user("alice")
    first, second = _spellings(tmp_path, 2)
    wheel = build_wheel(tmp_path, "race", "1.0")
    for path, filetype in ((wheel, "bdist_wheel"), (first, "sdist")):
        response = _post(server, token, path, filetype=filetype,
                         signature=_sign(actors, "alice", path.read_bytes()))
        assert response.status_code == 200, response.text
    before = state_counts(server)
    monkeypatch.setattr(upload._PyPIRules, "_check_release", lambda self, s, row, plan: None)
    response = _post(server, token, second, filetype="sdist",
                     signature=_sign(actors, "alice", second.read_bytes()))
    assert_problem(response, 400, "sdist_exists")
    assert _sdists(server, "race") == [first.name]
    assert state_counts(server) == before
    assert hashlib.sha256(second.read_bytes()).hexdigest() not in set(server.registry.blobs.keys())


def test_concurrent_sdists_of_one_release_store_exactly_one(
        server: RunningServer, actors: Actors, tmp_path: Path) -> None:
    """Several sdists of one release, different spellings, uploaded at once: one is stored,
    every other is refused (400 sdist_exists, or 409 if it lost the race for the release row
    itself) and leaves no blob behind."""
    token = actors.user("alice")
    wheel = build_wheel(tmp_path, "race", "1.0")
    response = _post(server, token, wheel, signature=_sign(actors, "alice", wheel.read_bytes()))
    assert response.status_code == 200, response.text
    paths = _spellings(tmp_path, 4)
    signatures = {p: _sign(actors, "alice", p.read_bytes()) for p in paths}
    start = threading.Barrier(len(paths))

    def send(path: Path) -> httpx.Response:
        start.wait()
        return _post(server, token, path, filetype="sdist", signature=signatures[path])

    with ThreadPoolExecutor(len(paths)) as pool:
        results = dict(zip(paths, pool.map(send, paths), strict=True))
    won = [p for p, r in results.items() if r.status_code == 200]
    assert len(won) == 1, {p.name: r.text for p, r in results.items()}
    for path, response in results.items():
        if path not in won:
            assert_problem(response, 400, "sdist_exists")
    assert _sdists(server, "race") == [won[0].name]
    stored = set(server.registry.blobs.keys())
    assert {hashlib.sha256(p.read_bytes()).hexdigest() for p in paths} & stored == {
        hashlib.sha256(won[0].read_bytes()).hexdigest()}
