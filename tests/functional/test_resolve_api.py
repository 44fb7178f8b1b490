"""Server-side resolution helpers: range resolution and batch metadata."""

from __future__ import annotations

from tests.conftest import Actors
from tests.functional.helpers import assert_problem, publish


def test_resolve_picks_the_highest_available_version(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    for version in ["1.0.0", "1.2.0", "1.3.0-beta.1", "1.4.0", "2.0.0"]:
        assert publish(alice, "lib", version, version.encode()).status_code == 201
    assert alice.delete("/api/v1/packages/lib/versions/1.4.0").status_code == 204
    got = alice.get("/api/v1/packages/lib/resolve", params={"range": "^1.0.0"}).json()
    assert got["version"] == "1.2.0"  # 1.4.0 is unpublished, 1.3.0-beta.1 a pre-release
    assert alice.put("/api/v1/packages/lib/versions/1.2.0/deprecation",
                     json={"message": "bad"}).status_code == 200
    assert alice.get("/api/v1/packages/lib/resolve",
                     params={"range": "^1.0.0"}).json()["version"] == "1.0.0"
    assert alice.get("/api/v1/packages/lib/resolve",
                     params={"range": "1.2.0"}).json()["version"] == "1.2.0"
    assert_problem(alice.get("/api/v1/packages/lib/resolve", params={"range": "^3"}), 404,
                   "no_matching_version")
    assert_problem(alice.get("/api/v1/packages/lib/resolve", params={"range": ">>1"}), 422,
                   "invalid_range")
    assert_problem(alice.get("/api/v1/packages/nope/resolve", params={"range": "*"}), 404,
                   "package_not_found")


def test_batch_metadata_in_one_round_trip(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    assert alice.post("/api/v1/orgs", json={"name": "acme"}).status_code == 201
    assert publish(alice, "base", "1.0.0").status_code == 201
    assert publish(alice, "@acme/app", "0.1.0", b"app",
                   metadata={"dependencies": {"base": "^1.0.0"}}).status_code == 201
    body = alice.post("/api/v1/metadata",
                      json={"names": ["base", "@acme/app", "ghost"]}).json()
    assert body["missing"] == ["ghost"]
    app = body["packages"]["@acme/app"]["versions"][0]
    assert app["dependencies"] == {"base": "^1.0.0"}
    assert len(app["sha256"]) == 64 and app["artifact_url"].endswith("/0.1.0/artifact")
    assert_problem(alice.post("/api/v1/metadata", json={"names": ["x"] * 1001}), 422,
                   "validation_error")
