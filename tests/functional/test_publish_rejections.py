"""Every rejected publish answers problem+json and leaves no blob, no row, no audit event."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import Actors, state_counts
from tests.functional.helpers import assert_problem, publish, sha256


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"max_upload_bytes": 64 * 1024}


def _rejected(actors: Actors, response_factory, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    before = state_counts(actors.server)
    body = assert_problem(response_factory(), status, code)
    assert state_counts(actors.server) == before
    return body


def test_digest_mismatch(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    before_events = state_counts(actors.server)
    body = _rejected(actors, lambda: publish(alice, "pkg", "1.0.0", b"abc",
                                             sha256=sha256(b"abd")), 400, "digest_mismatch")
    assert body["actual"] == sha256(b"abc")
    assert state_counts(actors.server) == before_events
    assert alice.get("/api/v1/packages/pkg").status_code == 404


def test_malformed_sha256(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    _rejected(actors, lambda: publish(alice, "pkg", "1.0.0", sha256="zz"), 400,
              "malformed_input")


def test_oversize_upload(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    _rejected(actors, lambda: publish(alice, "pkg", "1.0.0", b"x" * (64 * 1024 + 1)), 413,
              "payload_too_large")
    # Far over the cap the server refuses on Content-Length before reading the body.
    _rejected(actors, lambda: publish(alice, "pkg", "1.0.0", b"x" * (4 * 1024 * 1024)), 413,
              "payload_too_large")
    assert list((actors.server.registry.settings.data_dir / "staging").glob("*")) == []


@pytest.mark.parametrize("name", [
    "Upper", "../etc", "a/b", "@acme", "@acme/", "@/x", "..", "a..b/c", ".hidden", "-dash",
    "x" * 215, "sp ace", "node_modules", "%2e%2e",
])
def test_bad_names(actors: Actors, name: str) -> None:
    alice = actors.client(actors.user("alice"))
    response = publish(alice, name, "1.0.0")
    assert response.status_code in (400, 404), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] in ("invalid_name", "not_found")
    assert state_counts(actors.server).versions == 0
    assert actors.server.registry.blobs.keys() == []


@pytest.mark.parametrize("version", ["1.0", "v1.0.0", "01.0.0", "1.0.0-", "latest", "1.0.0+"])
def test_bad_versions(actors: Actors, version: str) -> None:
    alice = actors.client(actors.user("alice"))
    _rejected(actors, lambda: publish(alice, "pkg", version), 400, "invalid_version")


def test_bad_metadata(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    _rejected(actors, lambda: publish(alice, "pkg", "1.0.0", metadata={"unknown": 1}), 400,
              "invalid_metadata")
    _rejected(actors, lambda: alice.put("/api/v1/packages/pkg/versions/1.0.0",
                                        data={"metadata": "{not json"},
                                        files={"artifact": ("a", b"x")}),
              400, "invalid_metadata")
    _rejected(actors, lambda: alice.put("/api/v1/packages/pkg/versions/1.0.0",
                                        data={"metadata": "{}"}), 400, "malformed_input")
    _rejected(actors, lambda: alice.put("/api/v1/packages/pkg/versions/1.0.0", json={}), 400,
              "malformed_input")


def test_empty_artifact(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    _rejected(actors, lambda: publish(alice, "pkg", "1.0.0", b""), 400, "malformed_input")


def test_no_token(actors: Actors) -> None:
    response_factory = lambda: publish(actors.client(), "pkg", "1.0.0")  # noqa: E731
    _rejected(actors, response_factory, 401, "not_authenticated")


def test_garbage_token(actors: Actors) -> None:
    _rejected(actors, lambda: publish(actors.client("vouch_garbage"), "pkg", "1.0.0"), 401,
              "invalid_token")
    _rejected(actors, lambda: publish(actors.client("not-even-ours"), "pkg", "1.0.0"), 401,
              "invalid_token")


def test_expired_token(actors: Actors) -> None:
    token = actors.user("alice", expires_in=timedelta(hours=1))
    assert publish(actors.client(token), "pkg", "1.0.0").status_code == 201
    actors.server.clock.advance(timedelta(hours=1, seconds=1))
    _rejected(actors, lambda: publish(actors.client(token), "pkg", "1.0.1"), 401,
              "invalid_token")


def test_revoked_token(actors: Actors) -> None:
    token = actors.user("alice")
    client = actors.client(token)
    token_id = client.get("/api/v1/tokens").json()[0]["id"]
    assert client.delete(f"/api/v1/tokens/{token_id}").status_code == 204
    body = _rejected(actors, lambda: publish(client, "pkg", "1.0.0"), 401, "invalid_token")
    assert "revoked" in body["detail"]


def test_token_scopes(actors: Actors) -> None:
    actors.user("alice")
    read_only = actors.token("alice", actions=["read"])
    _rejected(actors, lambda: publish(actors.client(read_only), "pkg", "1.0.0"), 403,
              "forbidden")
    narrow = actors.token("alice", packages=["@acme/*"])
    _rejected(actors, lambda: publish(actors.client(narrow), "pkg", "1.0.0"), 403, "forbidden")


def test_wrong_owner(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    mallory = actors.client(actors.user("mallory"))
    assert publish(alice, "pkg", "1.0.0").status_code == 201
    _rejected(actors, lambda: publish(mallory, "pkg", "1.0.1"), 403, "forbidden")


def test_scope_belongs_to_org(actors: Actors) -> None:
    olga = actors.client(actors.user("olga"))
    mallory = actors.client(actors.user("mallory"))
    assert olga.post("/api/v1/orgs", json={"name": "acme"}).status_code == 201
    _rejected(actors, lambda: publish(mallory, "@acme/evil", "1.0.0"), 403, "forbidden")
    _rejected(actors, lambda: publish(mallory, "@nobody/thing", "1.0.0"), 403, "forbidden")
    # Membership grants publishing rights, and its removal takes them away again.
    assert olga.post("/api/v1/orgs/acme/members", json={"user": "mallory"}).status_code == 201
    assert publish(mallory, "@acme/evil", "1.0.0").status_code == 201
    assert olga.delete("/api/v1/orgs/acme/members/mallory").status_code == 204
    _rejected(actors, lambda: publish(mallory, "@acme/evil", "1.0.1"), 403, "forbidden")


def test_duplicate_version(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "pkg", "1.0.0", b"one").status_code == 201
    body = _rejected(actors, lambda: publish(alice, "pkg", "1.0.0", b"two"), 409,
                     "version_exists")
    # twine and other clients look for this wording.
    assert body["detail"].startswith("File already exists")
    assert alice.get("/api/v1/packages/pkg/versions/1.0.0/artifact").content == b"one"


def test_unknown_routes_and_methods_are_problems(actors: Actors) -> None:
    client = actors.client()
    assert_problem(client.get("/api/v1/nope"), 404, "not_found")
    assert_problem(client.get("/api/v1/packages/ghost"), 404, "package_not_found")
    assert_problem(client.get("/api/v1/packages/ghost/versions/1.0.0/artifact"), 404,
                   "package_not_found")
