"""Unpublish inside the grace window only; tombstones burn the number; deprecation any time."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import Actors, state_counts
from tests.functional.helpers import assert_problem, publish


def test_unpublish_within_window_tombstones_and_deletes_unshared_blob(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "pkg", "1.0.0", b"unique bytes").status_code == 201
    assert publish(alice, "pkg", "1.1.0", b"kept bytes").status_code == 201
    actors.server.clock.advance(timedelta(hours=23, minutes=59))
    assert alice.delete("/api/v1/packages/pkg/versions/1.0.0").status_code == 204

    assert_problem(alice.get("/api/v1/packages/pkg/versions/1.0.0/artifact"), 410,
                   "version_unpublished")
    doc = alice.get("/api/v1/packages/pkg/versions/1.0.0").json()
    assert doc["unpublished"] is True and doc["artifact_url"] is None and doc["sha256"] is None
    package = alice.get("/api/v1/packages/pkg").json()
    assert package["latest"] == "1.1.0"
    assert [v["unpublished"] for v in package["versions"]] == [True, False]
    counts = state_counts(actors.server)
    assert counts.blobs_rows == 1 and counts.blob_files == 1  # only the 1.1.0 blob is left

    # The number is burned forever.
    body = assert_problem(publish(alice, "pkg", "1.0.0", b"new bytes"), 409, "version_burned")
    assert "burned" in body["detail"]
    assert_problem(alice.delete("/api/v1/packages/pkg/versions/1.0.0"), 410,
                   "version_unpublished")


def test_unpublish_keeps_a_blob_another_version_shares(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "a", "1.0.0", b"shared").status_code == 201
    assert publish(alice, "b", "1.0.0", b"shared").status_code == 201
    assert alice.delete("/api/v1/packages/a/versions/1.0.0").status_code == 204
    assert alice.get("/api/v1/packages/b/versions/1.0.0/artifact").content == b"shared"
    assert state_counts(actors.server).blob_files == 1


def test_unpublish_after_window_is_refused_and_says_deprecate(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "pkg", "1.0.0").status_code == 201
    actors.server.clock.advance(timedelta(hours=24, seconds=1))
    before = state_counts(actors.server)
    body = assert_problem(alice.delete("/api/v1/packages/pkg/versions/1.0.0"), 409,
                          "unpublish_window_closed")
    assert "Deprecate it instead" in body["detail"]
    assert body["grace_seconds"] == 86400
    assert state_counts(actors.server) == before
    assert alice.get("/api/v1/packages/pkg/versions/1.0.0/artifact").status_code == 200


def test_only_owners_unpublish_and_deprecate(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    mallory = actors.client(actors.user("mallory"))
    assert publish(alice, "pkg", "1.0.0").status_code == 201
    before = state_counts(actors.server)
    assert_problem(mallory.delete("/api/v1/packages/pkg/versions/1.0.0"), 403, "forbidden")
    assert_problem(mallory.put("/api/v1/packages/pkg/versions/1.0.0/deprecation",
                               json={"message": "x"}), 403, "forbidden")
    assert_problem(actors.client().delete("/api/v1/packages/pkg/versions/1.0.0"), 401,
                   "not_authenticated")
    assert state_counts(actors.server) == before


def test_deprecate_any_time_and_undeprecate(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "pkg", "1.0.0", b"old").status_code == 201
    actors.server.clock.advance(timedelta(days=400))
    response = alice.put("/api/v1/packages/pkg/versions/1.0.0/deprecation",
                         json={"message": "use 2.x"})
    assert response.status_code == 200 and response.json()["deprecated"] == "use 2.x"
    assert alice.get("/api/v1/packages/pkg/versions/1.0.0").json()["deprecated"] == "use 2.x"
    assert alice.get("/api/v1/packages/pkg/versions/1.0.0/artifact").content == b"old"
    assert_problem(alice.put("/api/v1/packages/pkg/versions/1.0.0/deprecation",
                             json={"message": ""}), 422, "validation_error")
    response = alice.delete("/api/v1/packages/pkg/versions/1.0.0/deprecation")
    assert response.status_code == 200 and response.json()["deprecated"] is None


def test_audit_log_records_every_change_for_admins_only(actors: Actors) -> None:
    admin_token, alice_token = actors.user("root", admin=True), actors.user("alice")
    admin, alice = actors.client(admin_token), actors.client(alice_token)
    assert publish(alice, "pkg", "1.0.0").status_code == 201
    assert alice.put("/api/v1/packages/pkg/versions/1.0.0/deprecation",
                     json={"message": "old"}).status_code == 200
    assert alice.delete("/api/v1/packages/pkg/versions/1.0.0").status_code == 204
    created = alice.post("/api/v1/tokens", json={"name": "ci"})
    assert created.status_code == 201
    secrets = [admin_token, alice_token, created.json()["token"]]
    assert_problem(alice.get("/api/v1/audit-events"), 403, "forbidden")
    events = admin.get("/api/v1/audit-events").json()
    actions = [e["action"] for e in events]
    for expected in ("user:create", "token:create", "package:create", "version:publish",
                     "version:deprecate", "version:unpublish"):
        assert expected in actions
    dump = str(events)
    assert not any(secret in dump for secret in secrets), "a secret leaked into the audit log"
    only_pkg = admin.get("/api/v1/audit-events", params={"package": "pkg"}).json()
    assert {e["package"] for e in only_pkg} == {"pkg"}


def test_cached_documents_reflect_changes_at_once(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "pkg", "1.0.0").status_code == 201
    url = "/api/v1/packages/pkg/versions/1.0.0"
    first = alice.get(url)
    assert first.json()["deprecated"] is None
    again = alice.get(url, headers={"If-None-Match": alice.get(url).headers["etag"]})
    assert again.status_code == 304
    assert alice.put(url + "/deprecation", json={"message": "gone soon"}).status_code == 200
    assert alice.get(url).json()["deprecated"] == "gone soon"
    assert alice.get("/api/v1/packages/pkg").json()["versions"][0]["deprecated"] == "gone soon"
    assert alice.delete(url).status_code == 204
    assert alice.get(url).json()["unpublished"] is True
