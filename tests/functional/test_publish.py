"""Publishing and reading versions over HTTP: the happy paths and what they leave behind."""

from __future__ import annotations

import base64
import hashlib

from tests.conftest import Actors, state_counts
from tests.functional.helpers import assert_problem, publish, sha256


def test_publish_then_read_version_package_and_artifact(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    data = b"left pad contents" * 100
    response = publish(alice, "left-pad", "1.0.0", data,
                       {"description": "pads strings", "license": "MIT",
                        "keywords": ["pad"], "repository": "https://example.test/left-pad"},
                       sha256=sha256(data))
    assert response.status_code == 201, response.text
    doc = response.json()
    assert doc["name"] == "left-pad" and doc["version"] == "1.0.0"
    assert doc["sha256"] == sha256(data)
    assert doc["sha512"] == hashlib.sha512(data).hexdigest()
    assert doc["size"] == len(data)
    assert doc["published_by"] == "alice"
    assert doc["deprecated"] is None and doc["unpublished"] is False

    anonymous = actors.client()
    version = anonymous.get("/api/v1/packages/left-pad/versions/1.0.0").json()
    assert version["license"] == "MIT" and version["keywords"] == ["pad"]

    package = anonymous.get("/api/v1/packages/left-pad").json()
    assert package["latest"] == "1.0.0"
    assert [v["version"] for v in package["versions"]] == ["1.0.0"]

    artifact = anonymous.get("/api/v1/packages/left-pad/versions/1.0.0/artifact")
    assert artifact.status_code == 200
    assert artifact.content == data
    expected = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert artifact.headers["repr-digest"] == f"sha-256=:{expected}:"
    assert artifact.headers["etag"] == f'"{sha256(data)}"'
    assert "immutable" in artifact.headers["cache-control"]

    head = anonymous.head("/api/v1/packages/left-pad/versions/1.0.0/artifact")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == artifact.headers["etag"]

    cached = anonymous.get("/api/v1/packages/left-pad/versions/1.0.0/artifact",
                           headers={"If-None-Match": artifact.headers["etag"]})
    assert cached.status_code == 304


def test_versions_sort_by_semver_precedence_and_latest_skips_prereleases(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    for version in ["1.10.0", "1.2.0", "2.0.0-rc.1", "1.9.0", "2.0.0-alpha"]:
        assert publish(alice, "sorter", version, version.encode()).status_code == 201
    package = alice.get("/api/v1/packages/sorter").json()
    assert [v["version"] for v in package["versions"]] == [
        "1.2.0", "1.9.0", "1.10.0", "2.0.0-alpha", "2.0.0-rc.1"]
    assert package["latest"] == "1.10.0"


def test_scoped_package_published_by_org_member(actors: Actors) -> None:
    owner = actors.client(actors.user("olga"))
    assert owner.post("/api/v1/orgs", json={"name": "acme"}).status_code == 201
    response = publish(owner, "@acme/widgets", "0.1.0")
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "@acme/widgets"
    artifact = actors.client().get("/api/v1/packages/@acme/widgets/versions/0.1.0/artifact")
    assert artifact.status_code == 200
    # The percent-encoded form that npm clients send reaches the same package.
    encoded = actors.client().get("/api/v1/packages/@acme%2fwidgets")
    assert encoded.status_code == 200 and encoded.json()["name"] == "@acme/widgets"


def test_identical_bytes_share_one_blob(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "one", "1.0.0", b"same").status_code == 201
    assert publish(alice, "two", "1.0.0", b"same").status_code == 201
    counts = state_counts(actors.server)
    assert counts.versions == 2 and counts.blobs_rows == 1 and counts.blob_files == 1


def test_dependencies_must_exist_with_a_satisfying_version(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "base", "1.4.2").status_code == 201
    ok = publish(alice, "app", "1.0.0",
                 metadata={"dependencies": {"base": "^1.2.0"}})
    assert ok.status_code == 201, ok.text
    before = state_counts(actors.server)
    bad = publish(alice, "app", "1.1.0", b"other",
                  metadata={"dependencies": {"base": "^2.0.0", "ghost": "1.0.0",
                                             "base2": "not a range !!"}})
    body = assert_problem(bad, 422, "unmet_dependencies")
    assert {u["name"] for u in body["unmet"]} == {"base", "ghost", "base2"}
    assert state_counts(actors.server) == before


def test_download_is_counted_without_blocking(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "counted", "1.0.0").status_code == 201
    for _ in range(3):
        assert alice.get("/api/v1/packages/counted/versions/1.0.0/artifact").status_code == 200
    assert alice.head("/api/v1/packages/counted/versions/1.0.0/artifact").status_code == 200
    actors.server.registry.downloads.flush()
    doc = alice.get("/api/v1/packages/counted/versions/1.0.0").json()
    assert doc["downloads"] == 3


def test_downloads_can_be_handed_to_the_proxy(settings, clock, session_signing) -> None:  # type: ignore[no-untyped-def]
    """Behind nginx the app authorizes the download and nginx sends the blob file."""
    from tests.conftest import Actors
    from tests.support.server import running_registry

    settings.accel_redirect_prefix = "/_blobs"
    with running_registry(settings, clock) as server:
        actors = Actors(server, session_signing)
        alice = actors.client(actors.user("alice"))
        data = b"proxied bytes"
        assert publish(alice, "proxied", "1.0.0", data).status_code == 201
        response = alice.get("/api/v1/packages/proxied/versions/1.0.0/artifact")
        digest = sha256(data)
        assert response.status_code == 200 and response.content == b""
        expected = f"/_blobs/{digest[:2]}/{digest[2:4]}/{digest}"
        assert response.headers["x-accel-redirect"] == expected
        assert response.headers["etag"] == f'"{digest}"'
        stored = settings.blob_dir / digest[:2] / digest[2:4] / digest
        assert stored.read_bytes() == data
