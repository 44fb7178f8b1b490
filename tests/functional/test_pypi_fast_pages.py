"""Simple API pages from memory (app/pypi/fast_pages.py, issue 14): the instance in front of
the middleware stack answers anonymous reads, the one inside answers reads with a token; both
give the routed answer's bytes and headers, and a write that bypasses the app (straight to the
database, as another replica's would) shows at the very next read."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx
from sqlalchemy import text

from app.core.db import session_scope
from tests.conftest import Actors
from tests.functional.helpers import assert_problem
from tests.support.pydists import build_wheel
from tests.support.server import RunningServer

JSON = "application/vnd.pypi.simple.v1+json"
PIP_ACCEPT = f"{JSON}, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"


def _upload(server: RunningServer, actors: Actors, token: str, path: Path) -> None:
    data = path.read_bytes()
    fields = {":action": "file_upload", "protocol_version": "1", "filetype": "bdist_wheel",
              "sha256_digest": hashlib.sha256(data).hexdigest()}
    files = {"content": (path.name, data, "application/octet-stream"),
             "gpg_signature": (path.name + ".asc",
                               actors.signers["alice"].sign(data),  # type: ignore[attr-defined]
                               "application/octet-stream")}
    with httpx.Client(base_url=server.url, auth=("__token__", token)) as http:
        response = http.post("/legacy/", data=fields, files=files)
    assert response.status_code == 200, response.text


def test_pages_from_memory_are_exact_for_anonymous_and_token_reads(
        server: RunningServer, actors: Actors, tmp_path: Path) -> None:
    token = actors.user("alice")
    _upload(server, actors, token, build_wheel(tmp_path, "fast-page", "1.0"))
    anonymous = httpx.Client(base_url=server.url)
    with_token = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})
    for client in (anonymous, with_token):
        first = client.get("/simple/fast-page/", headers={"Accept": PIP_ACCEPT})
        again = client.get("/simple/fast-page/", headers={"Accept": PIP_ACCEPT})
        assert first.status_code == again.status_code == 200
        assert first.content == again.content
        assert first.headers["content-type"] == JSON and first.headers["vary"] == "Accept"
        assert first.json()["versions"] == ["1.0"]
        html = client.get("/simple/fast-page/")
        assert html.headers["content-type"].startswith("text/html")
        assert "fast_page-1.0-py3-none-any.whl" in html.text
        head = client.head("/simple/fast-page/", headers={"Accept": JSON})
        assert head.status_code == 200 and head.content == b""
        assert head.headers["etag"] == first.headers["etag"]
        assert head.headers["content-length"] == str(len(first.content))
        cached = client.get("/simple/fast-page/", headers={
            "Accept": JSON, "If-None-Match": first.headers["etag"]})
        assert cached.status_code == 304 and cached.headers["etag"] == first.headers["etag"]

    # A write straight to the database (another replica): the next read of each kind shows it.
    with session_scope(server.registry.engine, write=True) as session:
        session.execute(text(
            "UPDATE package_versions SET deprecated = 'raw yank' WHERE package_id = "
            "(SELECT id FROM packages WHERE name = 'fast-page' AND ecosystem = 'pypi')"))
    for client in (anonymous, with_token):
        doc = client.get("/simple/fast-page/", headers={"Accept": JSON}).json()
        assert [f["yanked"] for f in doc["files"]] == ["raw yank"]
        assert 'data-yanked="raw yank"' in client.get("/simple/fast-page/").text

    # What the fast paths do not answer keeps the routed answers.
    for client in (anonymous, with_token):
        assert_problem(client.get("/simple/no-such-page/"), 404, "package_not_found")
        moved = client.get("/simple/Fast_Page/", follow_redirects=False)
        assert moved.status_code == 301 and moved.headers["location"] == "/simple/fast-page/"
    bad = httpx.get(f"{server.url}/simple/fast-page/",
                    headers={"Authorization": "Bearer not-a-token"})
    assert_problem(bad, 401, "invalid_token")  # a presented bad token is refused everywhere
    anonymous.close()
    with_token.close()
