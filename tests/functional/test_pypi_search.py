"""Search covers every format (issue 14): a Python project uploaded with the real twine is
found by search and autocomplete, labelled with its format, next to a native package of the
same name; quarantine flags and demotes it as it does a native one; unpublishing its last
release removes it from the index, and a reindex rebuilds the same documents."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import Actors
from tests.functional.helpers import publish
from tests.functional.pypi_clients import twine_upload
from tests.support.pydists import build_wheel
from tests.support.server import RunningServer


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"run_worker": False}  # the test drives the outbox by hand


def _drain(server: RunningServer) -> None:
    server.registry.downloads.flush(search_now=True)
    while server.registry.worker.run_once():
        pass


def _upload(server: RunningServer, actors: Actors, user: str, token: str, wheel: Path,
            home: Path) -> None:
    asc = wheel.with_name(wheel.name + ".asc")
    asc.write_bytes(actors.signers[user].sign(wheel.read_bytes()))  # type: ignore[attr-defined]
    result = twine_upload(server.url, token, [wheel, asc], home)
    assert result.returncode == 0, result.stdout + result.stderr


def _hits(http: httpx.Client, q: str) -> list[tuple[str, str, str]]:
    body = http.get("/api/v1/search", params={"q": q}).json()
    return [(h["name"], h["format"], h["match"]) for h in body["results"]]


def _suggest(http: httpx.Client, q: str) -> list[tuple[str, str]]:
    body = http.get("/api/v1/search/suggest", params={"q": q}).json()
    return [(h["name"], h["format"]) for h in body["suggestions"]]


def test_twine_uploads_are_searchable_and_leave_when_unpublished(
        server: RunningServer, actors: Actors, tmp_path: Path) -> None:
    token = actors.user("alice")
    security = actors.user("sec", security=True)
    dist = tmp_path / "dist"
    dist.mkdir()
    _upload(server, actors, "alice", token, build_wheel(dist, "Sparkle.Widgets", "1.0"),
            tmp_path / "home")
    http = actors.client(token)
    assert publish(http, "sparkle-widgets", "1.0.0", b"native").status_code == 201
    assert _hits(http, "sparkle") == []  # the index is updated through the outbox
    _drain(server)

    assert sorted(_hits(http, "sparkle-widgets")) == [
        ("sparkle-widgets", "generic", "exact"), ("sparkle-widgets", "pypi", "exact")]
    assert sorted(_suggest(http, "sparkle_w")) == [
        ("sparkle-widgets", "generic"), ("sparkle-widgets", "pypi")]
    python = next(h for h in http.get("/api/v1/search", params={"q": "sparkle"}).json()[
        "results"] if h["format"] == "pypi")
    assert (python["latest_version"], python["verified_publisher"], python["quarantined"]) \
        == ("1.0", True, False)
    page = httpx.get(f"{server.url}/search", params={"q": "sparkle"}).text
    assert 'href="/simple/sparkle-widgets/"' in page and "Python" in page

    # Downloads of the Python file count for the Python document only.
    wheel = "sparkle_widgets-1.0-py3-none-any.whl"
    assert http.get(f"/pypi/files/sparkle-widgets/1.0/{wheel}").status_code == 200
    _drain(server)
    counts = {h["format"]: h["downloads"] for h in http.get(
        "/api/v1/search", params={"q": "sparkle-widgets"}).json()["results"]}
    assert counts == {"pypi": 1, "generic": 0}

    # Quarantine (a malicious PyPI advisory affecting every release) hides the Python
    # project from search, as it hides a native package with nothing left to install.
    sec = actors.client(security)
    advisory = {"summary": "malicious", "details": "bad",
                "database_specific": {"malicious": True},
                "affected": [{"package": {"ecosystem": "PyPI", "name": "sparkle_widgets"},
                              "ranges": [{"type": "ECOSYSTEM",
                                          "events": [{"introduced": "0"}]}]}]}
    advisory_id = sec.post("/api/v1/advisories", json=advisory).json()["id"]
    assert sec.post(f"/api/v1/advisories/{advisory_id}/publish").status_code == 200
    assert sec.post(f"/api/v1/advisories/{advisory_id}/quarantine", json={}).status_code == 200
    _drain(server)
    assert _hits(http, "sparkle-widgets") == [("sparkle-widgets", "generic", "exact")]
    assert _suggest(http, "spark") == [("sparkle-widgets", "generic")]
    assert sec.post(f"/api/v1/advisories/{advisory_id}/unquarantine").status_code == 200
    _drain(server)
    assert sorted(_suggest(http, "spark")) == [
        ("sparkle-widgets", "generic"), ("sparkle-widgets", "pypi")]

    # Unpublishing the only release removes the Python document; the native one stays.
    assert http.delete("/api/v1/pypi/sparkle-widgets/1.0").status_code == 204
    _drain(server)
    assert _hits(http, "sparkle-widgets") == [("sparkle-widgets", "generic", "exact")]
    assert _suggest(http, "spark") == [("sparkle-widgets", "generic")]

    # A rebuild from the database gives the same answer (every format, keyed by format).
    _upload(server, actors, "alice", token, build_wheel(dist, "sparkle-widgets", "2.0"),
            tmp_path / "home")
    from app.core.db import session_scope
    from app.search.documents import all_search_documents
    with session_scope(server.registry.engine) as session:
        docs = list(all_search_documents(session))
    server.registry.search.rebuild(docs)
    assert sorted(_hits(http, "sparkle-widgets")) == [
        ("sparkle-widgets", "generic", "exact"), ("sparkle-widgets", "pypi", "exact")]
