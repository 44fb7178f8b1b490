"""Cached metadata documents, Simple pages and small downloads answered by the HTTP protocol
(app/core/protocol_answers.py; ``DocumentAnswers`` in app/publishing/read_cache.py,
``SimplePages.answer`` in app/pypi/fast_pages.py, ``FastDownloads.answer`` in
app/publishing/fast_downloads.py): the same bytes as the application's, documents only while
the package's generation is unchanged, downloads only after the same lookup as any download
(and counted), never for a request the token gate or the request guard has something to do
with.

The test server speaks `vouch serve`'s protocol. The server's answerers are also called
directly, on what the server keeps, to show which requests they take: had they declined every
one, the HTTP checks here would pass through the application alone.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy import text

from app.core.answers import Answer, Pending
from app.core.config import Settings
from app.publishing.fast_downloads import ArtifactLookup
from app.publishing.generations import GenerationReader
from tests.conftest import Actors
from tests.functional.helpers import assert_problem, publish
from tests.functional.npm_support import package_json, path, tarball
from tests.functional.test_npm_protocol import signed_body
from tests.functional.test_pypi_fast_pages import PIP_ACCEPT, _upload
from tests.support.pydists import build_wheel
from tests.support.server import running_registry

DOC = "/api/v1/packages/answered/versions/1.0.0"


def _scope(path: str, *headers: tuple[bytes, bytes], method: str = "GET",
           query: bytes = b"") -> dict[str, object]:
    return {"type": "http", "method": method, "path": path, "query_string": query,
            "headers": [(b"host", b"registry.test"), *headers]}


def _ask(actors: Actors, scope: dict[str, object]) -> Answer | None:
    """What the server's answerers (``app.state.protocol_answers``, in order) make of
    ``scope``, each on what the server keeps but with a tag reader and a download lookup of
    the test's own (the server's belong to its event loop)."""
    engine = actors.server.registry.engine
    own: dict[str, GenerationReader | ArtifactLookup] = {
        "reader": GenerationReader(engine), "lookup": ArtifactLookup(engine)}

    async def ask() -> Answer | None:
        for answerer in actors.server.app.state.protocol_answers:
            owner = getattr(answerer, "__self__", answerer)
            clone = copy.copy(owner)
            for attribute, value in own.items():
                if hasattr(clone, attribute):
                    setattr(clone, attribute, value)
            found: Answer | Pending | None = (
                clone(scope) if owner is answerer else getattr(clone, answerer.__name__)(scope))
            if isinstance(found, Pending):
                await asyncio.wait([found.future])
                found = found.then(found.future)
            if found is not None:
                return found
        return None

    try:
        # A thread of its own: a loop another test left running on this one is not ours.
        with ThreadPoolExecutor(1) as thread:
            return thread.submit(asyncio.run, ask()).result()
    finally:
        for value in own.values():
            value.close()


@pytest.fixture
def alice(actors: Actors) -> httpx.Client:
    return actors.client(actors.user("alice"))


@pytest.fixture
def cached(actors: Actors, alice: httpx.Client) -> httpx.Response:
    """A published version whose document the server has rendered and cached: the first
    read renders it, the second is a hit."""
    assert publish(alice, "answered", "1.0.0", b"answered bytes").status_code == 201
    first = actors.client().get(DOC)
    assert first.status_code == 200
    hit = actors.client().get(DOC)
    assert hit.status_code == 200 and hit.content == first.content
    return hit


def test_a_hit_is_answered_with_the_applications_bytes(actors: Actors,
                                                       cached: httpx.Response) -> None:
    answer = _ask(actors, _scope(DOC))
    assert answer is not None and answer.status == 200 and answer.body == cached.content
    # What a client gets is that answer, after uvicorn's default headers.
    again = actors.client().get(DOC)
    assert again.status_code == 200 and again.content == cached.content
    lines = answer.head.decode().removesuffix("\r\n").split("\r\n")
    assert dict(line.split(": ", 1) for line in lines) == \
        {k: v for k, v in again.headers.items() if k not in ("date", "server")}
    assert again.headers["etag"].startswith('W/"')


def test_the_read_that_renders_a_document_answers_as_its_hits(actors: Actors,
                                                              alice: httpx.Client) -> None:
    assert publish(alice, "answered", "1.0.0", b"answered bytes").status_code == 201
    anonymous = actors.client()
    first = anonymous.get(DOC)  # a miss: rendered by the application, then kept
    hit = anonymous.get(DOC)
    assert first.status_code == hit.status_code == 200 and first.content == hit.content
    for header in ("etag", "cache-control", "content-type", "content-length"):
        assert first.headers[header] == hit.headers[header], header
    # A client revalidating what the first read gave it is told it is current.
    assert publish(alice, "answered", "1.0.1", b"newer bytes").status_code == 201
    other = "/api/v1/packages/answered/versions/1.0.1"
    rendered = anonymous.get(other)
    assert rendered.status_code == 200 and rendered.headers["etag"].startswith('W/"')
    again = anonymous.get(other, headers={"If-None-Match": rendered.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    # A conditional first read (nothing kept yet) with the document's ETag: 304 as well.
    assert publish(alice, "answered", "1.0.2", b"newest bytes").status_code == 201
    third = "/api/v1/packages/answered/versions/1.0.2"
    etag = anonymous.get(third).headers["etag"]
    actors.server.registry.read_cache.invalidate("answered")
    conditional = anonymous.get(third, headers={"If-None-Match": etag})
    assert conditional.status_code == 304 and conditional.headers["etag"] == etag


def test_head_and_if_none_match(actors: Actors, cached: httpx.Response) -> None:
    etag = cached.headers["etag"]
    head = _ask(actors, _scope(DOC, method="HEAD"))
    assert head is not None and (head.status, head.body) == (200, b"")
    assert b"content-length: %d\r\n" % len(cached.content) in head.head
    not_modified = _ask(actors, _scope(DOC, (b"if-none-match", etag.encode())))
    assert not_modified is not None and (not_modified.status, not_modified.body) == (304, b"")

    anonymous = actors.client()
    response = anonymous.head(DOC)
    assert response.status_code == 200 and response.content == b""
    assert response.headers["content-length"] == str(len(cached.content))
    response = anonymous.get(DOC, headers={"If-None-Match": etag})
    assert response.status_code == 304 and response.content == b""
    assert response.headers["etag"] == etag
    # Another ETag is not this document's: the whole document.
    response = anonymous.get(DOC, headers={"If-None-Match": 'W/"other"'})
    assert response.status_code == 200 and response.content == cached.content


def test_a_presented_token_is_never_answered_from_memory(
        actors: Actors, alice: httpx.Client, cached: httpx.Response) -> None:
    # An attacker's (or a revoked) token on a public, cached document: the token gate refuses
    # it, as it would on any other path; the protocol must not answer before it.
    assert _ask(actors, _scope(DOC, (b"authorization", b"Bearer vch_forged"))) is None
    refused = actors.client().get(DOC, headers={"Authorization": "Bearer vch_forged"})
    assert_problem(refused, 401, "invalid_token")
    # A valid token gets the document through the application.
    owner = alice.get(DOC)
    assert owner.status_code == 200 and owner.content == cached.content


@pytest.mark.parametrize("scope", [
    _scope(DOC, query=b"x=1"),
    _scope(DOC, (b"content-length", b"5")),
    _scope(DOC, (b"transfer-encoding", b"chunked")),
    _scope(DOC, method="POST"),
    _scope(DOC + "/artifact"),
    _scope("/api/v1/packages/answered/versions/9.9.9"),  # never rendered: a miss
    _scope("/api/v1/packages/answered/versions/1.0.0\x00"),
], ids=["query", "body-length", "body-chunked", "post", "artifact", "miss", "nul"])
def test_what_the_answerer_declines(actors: Actors, cached: httpx.Response,
                                    scope: dict[str, object]) -> None:
    assert _ask(actors, scope) is None


def test_a_write_makes_the_next_request_go_to_the_application(
        actors: Actors, alice: httpx.Client, cached: httpx.Response) -> None:
    assert cached.json()["deprecated"] is None
    response = alice.put(DOC + "/deprecation", json={"message": "use something else"})
    assert response.status_code == 200, response.text
    # The entry was rendered under the old generation: the answerer declines it at once ...
    assert _ask(actors, _scope(DOC)) is None
    # ... so the next read is rendered again, and then answered from memory again.
    assert actors.client().get(DOC).json()["deprecated"] == "use something else"
    answer = _ask(actors, _scope(DOC))
    assert answer is not None and b"use something else" in answer.body

    assert alice.delete(DOC).status_code == 204  # unpublished, within the 24 hours
    assert _ask(actors, _scope(DOC)) is None
    doc = actors.client().get(DOC).json()
    assert doc["unpublished"] is True and doc["artifact_url"] is None


def test_a_kept_simple_page_is_answered_with_the_applications_bytes(
        actors: Actors, tmp_path: Path) -> None:
    token = actors.user("alice")
    _upload(actors.server, actors, token, build_wheel(tmp_path, "page-answer", "1.0"))
    page = "/simple/page-answer/"
    anonymous = httpx.Client(base_url=actors.server.url)
    first = anonymous.get(page, headers={"Accept": PIP_ACCEPT})
    assert first.status_code == 200 and first.json()["versions"] == ["1.0"]
    accept = (b"accept", PIP_ACCEPT.encode())
    answer = _ask(actors, _scope(page, accept))
    assert answer is not None and (answer.status, answer.body) == (200, first.content)
    lines = answer.head.decode().removesuffix("\r\n").split("\r\n")
    assert dict(line.split(": ", 1) for line in lines) == \
        {k: v for k, v in first.headers.items() if k not in ("date", "server")}
    etag = (b"if-none-match", first.headers["etag"].encode())
    not_modified = _ask(actors, _scope(page, accept, etag))
    assert not_modified is not None and (not_modified.status, not_modified.body) == (304, b"")
    head = _ask(actors, _scope(page, accept, method="HEAD"))
    assert head is not None and (head.status, head.body) == (200, b"")
    # Another media type was never rendered: a miss. A token: the application's.
    assert _ask(actors, _scope(page)) is None
    assert _ask(actors, _scope(page, accept, (b"authorization", b"Bearer x"))) is None
    # Over the wire, the same answers.
    again = anonymous.get(page, headers={"Accept": PIP_ACCEPT})
    assert (again.status_code, again.content) == (200, first.content)
    assert anonymous.get(page, headers={"Accept": PIP_ACCEPT, "If-None-Match": first.headers[
        "etag"]}).status_code == 304
    # A new release changes the page's generation: declined, then rendered again.
    _upload(actors.server, actors, token, build_wheel(tmp_path, "page-answer", "1.1"))
    assert _ask(actors, _scope(page, accept)) is None
    assert anonymous.get(page, headers={"Accept": PIP_ACCEPT}).json()["versions"] == [
        "1.0", "1.1"]


ARTIFACT = DOC + "/artifact"


def _downloads(actors: Actors) -> int:
    actors.server.registry.downloads.flush()
    with actors.server.registry.engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT downloads FROM package_versions WHERE version = '1.0.0' AND package_id = "
            "(SELECT id FROM packages WHERE name = 'answered')")).scalar_one())


def test_a_small_download_is_answered_looked_up_and_counted(
        actors: Actors, alice: httpx.Client, cached: httpx.Response) -> None:
    anonymous = actors.client()
    first = anonymous.get(ARTIFACT)  # reads the bytes into the body cache
    assert first.status_code == 200 and first.content == b"answered bytes"
    answer = _ask(actors, _scope(ARTIFACT))  # a GET: counted like any other
    assert answer is not None and (answer.status, answer.body) == (200, b"answered bytes")
    lines = answer.head.decode().removesuffix("\r\n").split("\r\n")
    assert dict(line.split(": ", 1) for line in lines) == \
        {k: v for k, v in first.headers.items() if k not in ("date", "server")}
    head = _ask(actors, _scope(ARTIFACT, method="HEAD"))
    assert head is not None and (head.status, head.body) == (200, b"")
    etag = first.headers["etag"].encode()
    not_modified = _ask(actors, _scope(ARTIFACT, (b"if-none-match", etag)))
    assert not_modified is not None and (not_modified.status, not_modified.body) == (304, b"")
    for scope in (_scope(ARTIFACT, (b"authorization", b"Bearer vch_forged")),
                  _scope(ARTIFACT, (b"range", b"bytes=0-3")), _scope(ARTIFACT, query=b"x=1"),
                  _scope(DOC.replace("1.0.0", "9.9.9") + "/artifact")):
        assert _ask(actors, scope) is None, scope

    for _ in range(3):
        assert anonymous.get(ARTIFACT).content == b"answered bytes"
    assert anonymous.head(ARTIFACT).status_code == 200
    assert anonymous.get(ARTIFACT, headers={"If-None-Match": first.headers["etag"]}
                         ).status_code == 304
    assert_problem(anonymous.get(ARTIFACT, headers={"Authorization": "Bearer vch_forged"}),
                   401, "invalid_token")
    assert _downloads(actors) == 1 + 1 + 3  # the first, the answerer's GET, three more

    # Unpublished: the next download is the application's 410, never the kept bytes.
    assert alice.delete(DOC).status_code == 204
    assert _ask(actors, _scope(ARTIFACT)) is None
    assert_problem(anonymous.get(ARTIFACT), 410, "version_unpublished")
    assert _downloads(actors) == 5


def test_behind_a_proxy_every_download_is_handed_over_looked_up_and_counted(
        actors: Actors, alice: httpx.Client, settings: Settings) -> None:
    """With ``accel_redirect_prefix`` (compose's nginx in front) the answerer hands plain
    downloads of any size to the proxy with the application's headers, after the same lookup,
    and counts a GET; an unpublished version or a blob file that is gone is the
    application's to explain."""
    assert publish(alice, "answered", "1.0.0", b"answered bytes").status_code == 201
    settings.accel_redirect_prefix = "/_blobs"
    with running_registry(settings, actors.server.clock) as server:
        proxied = dataclasses.replace(actors, server=server)
        anonymous = proxied.client()
        # A Range request always takes the application's path.
        routed = anonymous.get(ARTIFACT, headers={"Range": "bytes=0-3"})
        assert routed.status_code == 200 and routed.content == b""
        digest = routed.headers["etag"].strip('"')
        assert routed.headers["x-accel-redirect"] == \
            f"/_blobs/{digest[:2]}/{digest[2:4]}/{digest}"
        answer = _ask(proxied, _scope(ARTIFACT))
        assert answer is not None and (answer.status, answer.body, answer.file) == \
            (200, b"", None)
        lines = answer.head.decode().removesuffix("\r\n").split("\r\n")
        assert dict(line.split(": ", 1) for line in lines) == \
            {k: v for k, v in routed.headers.items() if k not in ("date", "server")}
        head = _ask(proxied, _scope(ARTIFACT, method="HEAD"))
        assert head is not None and head.head == answer.head
        fast = anonymous.get(ARTIFACT)
        assert fast.status_code == 200 and fast.headers["x-accel-redirect"] == \
            routed.headers["x-accel-redirect"]
        assert _downloads(proxied) == 3  # the routed GET, the answerer's, the last one

        blob = settings.blob_dir / digest[:2] / digest[2:4] / digest
        kept = blob.read_bytes()
        blob.unlink()  # the bytes gone under a live version: never handed over
        assert _ask(proxied, _scope(ARTIFACT)) is None
        blob.write_bytes(kept)
        assert alice.delete(DOC).status_code == 204
        assert _ask(proxied, _scope(ARTIFACT)) is None
        assert_problem(anonymous.get(ARTIFACT), 410, "version_unpublished")
        assert _downloads(proxied) == 3


def test_pips_downloads_are_answered_looked_up_and_counted(
        actors: Actors, tmp_path: Path) -> None:
    """``/pypi/files/{name}/{version}/{filename}``, where pip and uv download: the same
    lookup (by file name), headers, count and refusals as the native download."""
    token, wheel, later = _two_releases(actors, tmp_path, "pip-answer")
    url = f"/pypi/files/pip-answer/1.0/{wheel.name}"
    anonymous = actors.client()
    data = wheel.read_bytes()
    # A Range request is always the application's (the routed path).
    routed = anonymous.get(url, headers={"Range": f"bytes=0-{len(data) - 1}"})
    assert routed.status_code == 206 and routed.content == data
    first = anonymous.get(url)  # the fast path's first read keeps the bytes
    assert first.status_code == 200 and first.content == data
    for header in ("etag", "repr-digest", "cache-control", "x-checksum-sha512",
                   "content-disposition", "content-type", "last-modified", "accept-ranges"):
        assert first.headers[header] == routed.headers[header], header
    answer = _ask(actors, _scope(url))
    assert answer is not None and (answer.status, answer.body) == (200, data)
    lines = answer.head.decode().removesuffix("\r\n").split("\r\n")
    assert dict(line.split(": ", 1) for line in lines) == \
        {k: v for k, v in first.headers.items() if k not in ("date", "server")}
    head = _ask(actors, _scope(url, method="HEAD"))
    assert head is not None and (head.status, head.body) == (200, b"")
    etag = (b"if-none-match", first.headers["etag"].encode())
    not_modified = _ask(actors, _scope(url, etag))
    assert not_modified is not None and not_modified.status == 304

    # Not a download the answerer knows: PEP 658 metadata, another version's file, a name
    # not as stored, a token, a query.
    for scope in (_scope(url + ".metadata"),
                  _scope(f"/pypi/files/pip-answer/1.0/{later.name}"),
                  _scope(f"/pypi/files/Pip_Answer/1.0/{wheel.name}"),
                  _scope(url, (b"authorization", b"Bearer vch_forged")),
                  _scope(url, query=b"x=1")):
        assert _ask(actors, scope) is None, scope
    assert anonymous.get(url + ".metadata").status_code == 200
    assert_problem(anonymous.get(f"/pypi/files/pip-answer/1.0/{later.name}"), 404,
                   "not_found")
    assert _pypi_downloads(actors, "1.0") == 3  # the routed GET, the first, the answerer's

    # Unpublished: the next download is the application's 410, never the kept bytes.
    assert actors.client(token).delete("/api/v1/pypi/pip-answer/1.0").status_code == 204
    assert _ask(actors, _scope(url)) is None
    assert_problem(anonymous.get(url), 410, "version_unpublished")
    later_url = f"/pypi/files/pip-answer/1.1/{later.name}"
    assert anonymous.get(later_url).content == later.read_bytes()
    answered = _ask(actors, _scope(later_url))
    assert answered is not None and answered.body == later.read_bytes()
    assert _pypi_downloads(actors, "1.1") == 2
    # Quarantined straight in the database (as another replica would): refused next time.
    with actors.server.registry.engine.begin() as conn:
        conn.execute(text(
            "UPDATE package_versions SET quarantined_at = CURRENT_TIMESTAMP, "
            "quarantine_reason = 'test' WHERE version = '1.1' AND package_id = "
            "(SELECT id FROM packages WHERE name = 'pip-answer' AND ecosystem = 'pypi')"))
    assert _ask(actors, _scope(later_url)) is None
    assert_problem(anonymous.get(later_url), 403, "version_quarantined")
    assert _pypi_downloads(actors, "1.1") == 2


def _two_releases(actors: Actors, tmp_path: Path, name: str) -> tuple[str, Path, Path]:
    """Alice's token and the wheels of ``name`` 1.0 and 1.1, uploaded signed."""
    token = actors.user("alice")
    wheels = build_wheel(tmp_path, name, "1.0"), build_wheel(tmp_path, name, "1.1")
    for wheel in wheels:
        _upload(actors.server, actors, token, wheel)
    return token, *wheels


def _pypi_downloads(actors: Actors, version: str) -> int:
    actors.server.registry.downloads.flush()
    with actors.server.registry.engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT downloads FROM package_versions WHERE version = :v AND package_id = "
            "(SELECT id FROM packages WHERE name = 'pip-answer' AND ecosystem = 'pypi')"),
            {"v": version}).scalar_one())


@pytest.mark.parametrize("name", ["left-pad", "@acme/widget"])
def test_npm_tarballs_are_answered_looked_up_and_counted(actors: Actors, name: str) -> None:
    """``/npm/{name}/-/{file}.tgz``, where npm downloads: the same lookup (the version the
    file name names), headers, count and refusals as the routed path."""
    token = actors.user("alice")
    alice = actors.client(token)
    if name.startswith("@"):
        assert alice.post("/api/v1/orgs", json={"name": "acme"}).status_code == 201
    data = tarball(package_json(name, "1.0.0"))
    assert alice.put(path(name), json=signed_body(
        actors, "alice", name, "1.0.0", data)).status_code == 201
    url = f"/npm/{name}/-/{name.rpartition('/')[2]}-1.0.0.tgz"
    anonymous = actors.client()
    routed = anonymous.get(url, headers={"Range": f"bytes=0-{len(data) - 1}"})
    assert routed.status_code == 206 and routed.content == data
    first = anonymous.get(url)
    assert first.status_code == 200 and first.content == data
    answer = _ask(actors, _scope(url))
    assert answer is not None and (answer.status, answer.body) == (200, data)
    lines = dict(line.split(": ", 1) for line in
                 answer.head.decode().removesuffix("\r\n").split("\r\n"))
    assert lines == {k: v for k, v in first.headers.items() if k not in ("date", "server")}
    for header in ("etag", "repr-digest", "cache-control", "x-checksum-sha512",
                   "content-disposition", "content-type", "last-modified", "accept-ranges"):
        assert lines[header] == routed.headers[header], header
    # Not a tarball the answerer knows: an unknown version, a file name that names none, a
    # packument, another route, a name npm would refuse (the routed path's 4xx, never a 500).
    hostile = "/npm/@\u00ee(\r/\x04x/-/k\u00a9.tgz"
    for other in (url.replace("1.0.0", "9.0.0"), url.replace("-1.0.0.tgz", "-1.0.tgz"),
                  f"/npm/{name}", "/npm/-/v1/search", hostile):
        assert _ask(actors, _scope(other)) is None, other
    refused = anonymous.get(quote(hostile))
    assert 400 <= refused.status_code < 500, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert_problem(anonymous.get(url.replace("1.0.0", "9.0.0")), 404, "version_not_found")

    with actors.server.registry.engine.begin() as conn:
        conn.execute(text(
            "UPDATE package_versions SET quarantined_at = CURRENT_TIMESTAMP, "
            "quarantine_reason = 'malware' WHERE package_id = "
            "(SELECT id FROM packages WHERE name = :n AND ecosystem = 'npm')"), {"n": name})
    assert _ask(actors, _scope(url)) is None
    assert_problem(anonymous.get(url), 403, "version_quarantined")
    actors.server.registry.downloads.flush()
    with actors.server.registry.engine.connect() as conn:
        assert conn.execute(text(
            "SELECT downloads FROM package_versions WHERE package_id = "
            "(SELECT id FROM packages WHERE name = :n AND ecosystem = 'npm')"),
            {"n": name}).scalar_one() == 3  # the routed GET, the first, the answerer's


def test_pep658_metadata_is_answered_from_kept_bytes_after_the_lookup(
        actors: Actors, tmp_path: Path) -> None:
    """``{file}.metadata``, which pip and uv read for every candidate: the routed path's
    bytes and headers, decided by the file's lookup on every request, never counted."""
    token, wheel, later = _two_releases(actors, tmp_path, "pep-answer")
    meta = f"/pypi/files/pep-answer/1.0/{wheel.name}.metadata"
    anonymous = actors.client()
    routed = anonymous.get(meta, headers={"Range": "bytes=0-"})  # the application's path
    assert routed.status_code == 200 and routed.content.startswith(b"Metadata-Version: ")
    assert _ask(actors, _scope(meta)) is None  # not kept yet: the application reads it
    first = anonymous.get(meta)
    expected = {k: v for k, v in routed.headers.items() if k not in ("date", "server")}
    assert (first.status_code, first.content) == (200, routed.content)
    assert {k: v for k, v in first.headers.items() if k not in ("date", "server")} == expected
    answer = _ask(actors, _scope(meta))
    assert answer is not None and (answer.status, answer.body) == (200, routed.content)
    lines = answer.head.decode().removesuffix("\r\n").split("\r\n")
    assert dict(line.split(": ", 1) for line in lines) == expected
    head = _ask(actors, _scope(meta, method="HEAD"))
    assert head is not None and (head.status, head.body, head.head) == (200, b"", answer.head)
    for scope in (_scope(f"/pypi/files/pep-answer/1.0/{later.name}.metadata"),
                  _scope("/pypi/files/pep-answer/1.0/.metadata"),
                  _scope(meta, (b"authorization", b"Bearer vch_forged")),
                  _scope(meta, query=b"x=1")):
        assert _ask(actors, scope) is None, scope
    assert_problem(anonymous.get(f"/pypi/files/pep-answer/1.0/{later.name}.metadata"), 404,
                   "not_found")
    assert_problem(anonymous.get(meta, headers={"Authorization": "Bearer vch_forged"}), 401,
                   "invalid_token")
    actors.server.registry.downloads.flush()
    with actors.server.registry.engine.connect() as conn:
        assert conn.execute(text(
            "SELECT SUM(downloads) FROM package_versions WHERE package_id = "
            "(SELECT id FROM packages WHERE name = 'pep-answer')")).scalar_one() == 0

    # Unpublished: the application's 410 on the next read, though the bytes are kept.
    assert actors.client(token).delete("/api/v1/pypi/pep-answer/1.0").status_code == 204
    assert _ask(actors, _scope(meta)) is None
    assert_problem(anonymous.get(meta), 410, "version_unpublished")
    # Quarantined straight in the database (as another replica would): 403 next time.
    later_meta = f"/pypi/files/pep-answer/1.1/{later.name}.metadata"
    assert anonymous.get(later_meta).status_code == 200
    assert _ask(actors, _scope(later_meta)) is not None
    with actors.server.registry.engine.begin() as conn:
        conn.execute(text(
            "UPDATE packages SET status = 'quarantined' WHERE name = 'pep-answer'"))
    assert _ask(actors, _scope(later_meta)) is None
    assert_problem(anonymous.get(later_meta), 403, "version_quarantined")
