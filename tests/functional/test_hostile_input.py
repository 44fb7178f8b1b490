"""Hostile input never reaches a 500 (issue 9): deep JSON, out-of-range integers, NUL
characters and oversized JSON bodies, sent over real HTTP as an attacker would.

Each rejection is problem+json with a stable code and leaves nothing behind.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from sqlmodel import func, select

from app.core.db import session_scope
from app.core.models import Advisory, ApiToken, Org
from tests.conftest import Actors, state_counts
from tests.functional.helpers import assert_problem, publish
from tests.functional.test_advisories_fixtures import generic_advisory
from tests.support.server import RunningServer
from tests.support.sigstore_local import GitHubIdentity, SigstoreInstance

IDENTITY = GitHubIdentity(repository="acme/widget", workflow="release.yml",
                          ref="refs/tags/v1.0.0")
DEEP = 100_000  # levels: far past the recursion limit of json.loads and pydantic


@pytest.fixture
def owner(actors: Actors) -> httpx.Client:
    """Olga owns @acme/widget, published by acme/widget's release workflow (Sigstore)."""
    client = actors.client(actors.user("olga"))
    assert client.post("/api/v1/orgs", json={"name": "acme"}).status_code == 201
    response = client.post("/api/v1/trusted-publishers", json={
        "target": "@acme/widget", "repository": "acme/widget", "workflow": "release.yml",
        "ref_pattern": "refs/tags/v*"})
    assert response.status_code == 201, response.text
    return client


def _signed(client: httpx.Client, instance: SigstoreInstance, version: str = "1.0.0",
            data: bytes = b"widget", **extra: object) -> httpx.Response:
    bundle = instance.sign_artifact(data, IDENTITY)
    return publish(client, "@acme/widget", version, data,
                   sigstore_bundle=("bundle.sigstore.json", bundle, "application/json"),
                   **extra)


def _raw_multipart(client: httpx.Client, name: str, version: str,
                   filename: bytes) -> httpx.Response:
    """A publish whose artifact part names ``filename`` byte for byte (httpx would escape)."""
    body = (b"--B\r\nContent-Disposition: form-data; name=\"artifact\"; filename=\"" + filename
            + b"\"\r\nContent-Type: application/octet-stream\r\n\r\nwidget\r\n--B--\r\n")
    return client.put(f"/api/v1/packages/{name}/versions/{version}", content=body,
                      headers={"content-type": "multipart/form-data; boundary=B"})


def _rows(server: RunningServer, table: type) -> int:
    with session_scope(server.registry.engine) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def _deep(levels: int, inner: str = "1") -> str:
    return "[" * levels + inner + "]" * levels


# -- deeply nested JSON -------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/v1/query", "/v1/querybatch"])
def test_deep_json_to_the_osv_api_is_malformed_input(actors: Actors, path: str) -> None:
    body = _deep(DEEP)
    if path == "/v1/querybatch":
        body = '{"queries": ' + body + "}"
    response = actors.client().post(path, content=body)
    problem = assert_problem(response, 400, "malformed_input")
    assert problem["max_depth"] == 64


def test_deep_json_to_model_bodies_is_malformed_input(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    sec = actors.client(actors.user("sec", security=True))
    tokens_before, advisories_before = (_rows(actors.server, ApiToken),
                                        _rows(actors.server, Advisory))
    deep_object = '{"a":' * DEEP + "1" + "}" * DEEP
    for client, path in ((alice, "/api/v1/tokens"), (alice, "/api/v1/orgs"),
                         (sec, "/api/v1/advisories"), (sec, "/api/v1/advisories/import"),
                         (alice, "/api/v1/metadata")):
        response = client.post(path, content=deep_object,
                               headers={"content-type": "application/json"})
        assert_problem(response, 400, "malformed_input")
    # A PATCH whose object nests just past the limit: refused too (65 levels).
    created = sec.post("/api/v1/advisories", json=generic_advisory("pkg")).json()
    patch = '{"database_specific":' + '{"x":' * 64 + "1" + "}" * 65
    assert_problem(sec.patch(f"/api/v1/advisories/{created['id']}", content=patch,
                             headers={"content-type": "application/json"}),
                   400, "malformed_input")
    assert sec.get(f"/api/v1/advisories/{created['id']}").json()["record"].get(
        "database_specific") is None
    assert _rows(actors.server, ApiToken) == tokens_before
    assert _rows(actors.server, Advisory) == advisories_before + 1


def test_deep_publish_metadata_is_malformed_input_and_stores_nothing(
        owner: httpx.Client, actors: Actors, sigstore_instance: SigstoreInstance) -> None:
    before = state_counts(actors.server)
    deep = '{"description": "x", "keywords": ' + _deep(20_000, '"k"') + "}"
    data = b"widget"
    response = owner.put("/api/v1/packages/@acme/widget/versions/1.0.0",
                         data={"metadata": deep},
                         files={"artifact": ("widget-1.0.0.tgz", data),
                                "sigstore_bundle": ("b.json",
                                                    sigstore_instance.sign_artifact(data,
                                                                                    IDENTITY))})
    assert_problem(response, 400, "malformed_input")
    assert state_counts(actors.server) == before


def test_brackets_inside_strings_do_not_count_and_moderate_depth_passes(
        actors: Actors) -> None:
    # 10,000 brackets inside a string are text, not nesting.
    name = "[" * 10_000
    response = actors.client().post("/v1/query", json={
        "package": {"ecosystem": "PyPI", "name": name}, "version": "1.0"})
    assert response.status_code == 200, response.text
    # Nesting up to the limit reaches the route (which answers its own 400 for the shape).
    response = actors.client().post("/v1/querybatch",
                                    content='{"queries": [' + _deep(62) + "]}")
    assert_problem(response, 400, "invalid_query")


# -- integers outside the database's range ------------------------------------------------------
@pytest.mark.parametrize("value", ["9223372036854775808", "2147483648", "-1",
                                   "99999999999999999999999999"])
def test_out_of_range_paging_is_a_validation_error(actors: Actors, value: str) -> None:
    admin = actors.client(actors.user("root", admin=True))
    for path in (f"/api/v1/advisories?offset={value}", f"/api/v1/audit-events?after={value}"):
        problem = assert_problem(admin.get(path), 422, "validation_error")
        assert problem["errors"], problem


def test_the_largest_database_integer_is_still_accepted(actors: Actors) -> None:
    admin = actors.client(actors.user("root", admin=True))
    assert admin.get("/api/v1/audit-events?after=2147483647").json() == []
    assert admin.get("/api/v1/advisories?offset=2147483647").json() == []
    assert_problem(admin.delete("/api/v1/tokens/2147483647"), 404, "not_found")


@pytest.mark.parametrize("value", ["9223372036854775808", "2147483648", "0"])
def test_out_of_range_ids_in_paths_are_validation_errors(actors: Actors, value: str) -> None:
    alice = actors.client(actors.user("alice"))
    before = _rows(actors.server, ApiToken)
    assert_problem(alice.delete(f"/api/v1/tokens/{value}"), 422, "validation_error")
    assert_problem(alice.delete(f"/api/v1/trusted-publishers/{value}"), 422,
                   "validation_error")
    assert _rows(actors.server, ApiToken) == before


def test_the_openapi_document_shows_the_integer_bounds(actors: Actors) -> None:
    document = actors.client().get("/openapi.json").json()
    params = {p["name"]: p["schema"]
              for p in document["paths"]["/api/v1/audit-events"]["get"]["parameters"]}
    assert params["after"]["maximum"] == 2**31 - 1
    token_params = document["paths"]["/api/v1/tokens/{token_id}"]["delete"]["parameters"]
    assert token_params[0]["schema"]["maximum"] == 2**31 - 1
    assert token_params[0]["schema"]["minimum"] == 1


# -- NUL characters -----------------------------------------------------------------------------
def test_nul_in_publish_name_version_metadata_and_filename_stores_nothing(
        owner: httpx.Client, actors: Actors, sigstore_instance: SigstoreInstance) -> None:
    before = state_counts(actors.server)
    attempts = [
        owner.put("/api/v1/packages/@acme/wid%00get/versions/1.0.0",
                  files={"artifact": ("w.tgz", b"x")}),
        owner.put("/api/v1/packages/@acme/widget/versions/1.0.0%00",
                  files={"artifact": ("w.tgz", b"x")}),
        _signed(owner, sigstore_instance, metadata={"description": "nul\x00here"}),
        _signed(owner, sigstore_instance, metadata={"license": "MIT\x00"}),
        _signed(owner, sigstore_instance, metadata={"keywords": ["a\x00b"]}),
        _signed(owner, sigstore_instance, metadata={"dependencies": {"x\x00": "1"}}),
        _raw_multipart(owner, "@acme/widget", "1.0.0", b"widget\x00.tgz"),
    ]
    for response in attempts:
        assert_problem(response, 400, "nul_character")
    assert state_counts(actors.server) == before
    # The same publish without the NUL goes through.
    assert _signed(owner, sigstore_instance).status_code == 201


def test_nul_in_messages_names_and_reasons_is_refused(
        owner: httpx.Client, actors: Actors, sigstore_instance: SigstoreInstance) -> None:
    assert _signed(owner, sigstore_instance).status_code == 201
    sec = actors.client(actors.user("sec", security=True))
    advisory = sec.post("/api/v1/advisories", json=generic_advisory("pkg")).json()
    tokens, orgs, advisories = (_rows(actors.server, ApiToken), _rows(actors.server, Org),
                                _rows(actors.server, Advisory))
    before = state_counts(actors.server)
    refused = [
        owner.put("/api/v1/packages/@acme/widget/versions/1.0.0/deprecation",
                  json={"message": "use 2\x00"}),
        owner.post("/api/v1/tokens", json={"name": "ci\x00"}),
        owner.post("/api/v1/orgs", json={"name": "ev\x00il"}),
        owner.post("/api/v1/trusted-publishers", json={
            "target": "@acme/widget", "repository": "acme/w\x00", "workflow": "r.yml"}),
        sec.post("/api/v1/advisories", json=generic_advisory("pkg", summary="flaw\x00")),
        sec.post("/api/v1/advisories/import",
                 json=[{**generic_advisory("pkg"), "id": "GHSA-\x00"}]),
        sec.patch(f"/api/v1/advisories/{advisory['id']}", json={"details": "\x00"}),
        sec.post(f"/api/v1/advisories/{advisory['id']}/withdraw", json={"reason": "r\x00"}),
        actors.client().post("/v1/query", json={"package": {"ecosystem": "PyPI",
                                                            "name": "re\x00quests"}}),
        actors.client().get("/api/v1/search", params={"q": "pad\x00"}),
        actors.client().get("/api/v1/search/suggest?q=%00"),
        actors.client().get("/api/v1/packages/%00"),
    ]
    for response in refused:
        assert_problem(response, 400, "nul_character")
    assert (_rows(actors.server, ApiToken), _rows(actors.server, Org),
            _rows(actors.server, Advisory)) == (tokens, orgs, advisories)
    assert state_counts(actors.server) == before
    version = owner.get("/api/v1/packages/@acme/widget/versions/1.0.0").json()
    assert version["deprecated"] is None
    record = sec.get(f"/api/v1/advisories/{advisory['id']}").json()["record"]
    assert "\x00" not in json.dumps(record) and record.get("details", "") == ""


def test_an_escaped_backslash_before_u0000_is_text_not_nul(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    response = alice.post("/api/v1/tokens", content=json.dumps({"name": "a\\u0000"}),
                          headers={"content-type": "application/json"})
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "a\\u0000"


# -- JSON body size ----------------------------------------------------------------------------
def test_a_json_body_over_the_json_cap_is_refused_before_it_is_read(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    before = _rows(actors.server, ApiToken)
    big = json.dumps({"name": "x" * (2 * 1024 * 1024)})
    problem = assert_problem(alice.post("/api/v1/tokens", content=big,
                                        headers={"content-type": "application/json"}),
                             413, "payload_too_large")
    assert problem["limit"] == 1024 * 1024
    assert _rows(actors.server, ApiToken) == before


def test_a_chunked_json_body_is_counted_as_it_streams(actors: Actors) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(40):
            yield b"x" * 64 * 1024
        yield b'"}'

    alice = actors.client(actors.user("alice"))
    response = alice.post("/api/v1/tokens", content=chunks(),
                          headers={"content-type": "application/json"})
    assert "content-length" not in response.request.headers
    assert_problem(response, 413, "payload_too_large")
    assert_problem(actors.client().post("/v1/query", content=chunks()), 413,
                   "payload_too_large")


def test_querybatch_has_the_larger_batch_cap(actors: Actors) -> None:
    # ~2 MiB: over the 1 MiB JSON cap, under the 8 MiB batch cap.
    queries = [{"package": {"ecosystem": "PyPI", "name": f"pkg{i}-" + "y" * 2100},
                "version": "1.0"} for i in range(1000)]
    body = json.dumps({"queries": queries})
    assert len(body) > 2 * 1024 * 1024
    response = actors.client().post("/v1/querybatch", content=body)
    assert response.status_code == 200, response.text
    assert len(response.json()["results"]) == 1000
    assert_problem(actors.client().post("/v1/query", content=body), 413, "payload_too_large")


# -- found by probing and fuzzing --------------------------------------------------------------
def test_an_unpaired_surrogate_escape_is_malformed_input(actors: Actors) -> None:
    sec = actors.client(actors.user("sec", security=True))
    before = _rows(actors.server, Advisory)
    for body in (b'{"summary": "flaw\\ud800"}', b'{"summary": "\\\\\\udc00"}',
                 b'{"summary": "\\\\ud83d\\ude00"}'):
        response = sec.post("/api/v1/advisories", content=body,
                            headers={"content-type": "application/json"})
        assert_problem(response, 400, "malformed_input")
    assert_problem(actors.client().post(
        "/v1/query", content=b'{"package": {"ecosystem": "PyPI", "name": "a\\ud800"}}'),
        400, "malformed_input")
    assert _rows(actors.server, Advisory) == before
    # A proper pair (an emoji) is text like any other.
    paired = sec.post("/api/v1/advisories", content=json.dumps(
        generic_advisory("pkg", summary="flaw \U0001F600"), ensure_ascii=True).encode(),
        headers={"content-type": "application/json"})
    assert paired.status_code == 201, paired.text
    assert paired.json()["summary"] == "flaw \U0001F600"


@pytest.mark.parametrize("lifetime", ["99999999999999d", "99999999d", "3155760000000"])
def test_an_absurd_token_lifetime_is_malformed_input(actors: Actors, lifetime: str) -> None:
    alice = actors.client(actors.user("alice"))
    before = _rows(actors.server, ApiToken)
    response = alice.post("/api/v1/tokens", json={"name": "ci", "expires_in": lifetime})
    assert_problem(response, 400, "malformed_input")
    assert _rows(actors.server, ApiToken) == before
    assert alice.post("/api/v1/tokens", json={"name": "ci", "expires_in": "36500d"}
                      ).status_code == 201
