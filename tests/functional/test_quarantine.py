"""A malicious advisory quarantines the versions it affects: downloads stop with their own
code, while records and evidence stay; release lifts it again."""

from __future__ import annotations

from typing import Any

from tests.conftest import Actors, state_counts
from tests.functional.helpers import assert_problem, publish, sha256
from tests.functional.test_advisories_fixtures import generic_advisory, security_client


def _published_malicious(actors: Actors, **options: Any) -> tuple[Any, str]:
    sec = security_client(actors)
    fields = generic_advisory("evil", malicious=True, summary="steals CI tokens", **options)
    draft = sec.post("/api/v1/advisories", json=fields).json()
    assert sec.post(f"/api/v1/advisories/{draft['id']}/publish").status_code == 200
    return sec, draft["id"]


def test_quarantine_blocks_downloads_and_keeps_the_record(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    admin = actors.client(actors.user("root", admin=True))
    for version in ("1.0.0", "1.1.0", "2.0.0"):
        assert publish(alice, "evil", version, f"evil {version}".encode()).status_code == 201
    assert publish(alice, "other", "1.0.0", b"fine").status_code == 201
    sec, advisory_id = _published_malicious(actors, introduced="1.0.0", fixed="2.0.0")
    before = state_counts(actors.server)

    assert_problem(alice.post(f"/api/v1/advisories/{advisory_id}/quarantine"), 403,
                   "forbidden")
    assert alice.get("/api/v1/packages/evil/versions/1.0.0/artifact").status_code == 200
    report = sec.post(f"/api/v1/advisories/{advisory_id}/quarantine").json()
    assert report["quarantined"] == [{"package": "evil", "version": "1.0.0"},
                                     {"package": "evil", "version": "1.1.0"}]

    for version in ("1.0.0", "1.1.0"):
        body = assert_problem(alice.get(f"/api/v1/packages/evil/versions/{version}/artifact"),
                              403, "version_quarantined")
        assert advisory_id in body["detail"] and "steals CI tokens" in body["detail"]
        doc = alice.get(f"/api/v1/packages/evil/versions/{version}").json()
        assert doc["quarantined"] is True
        assert doc["sha256"] == sha256(f"evil {version}".encode())  # evidence stays
        assert [a["id"] for a in doc["advisories"]] == [advisory_id]
        assert doc["advisories"][0]["malicious"] is True
    assert alice.get("/api/v1/packages/evil/versions/2.0.0/artifact").content == b"evil 2.0.0"
    assert alice.get("/api/v1/packages/other/versions/1.0.0/artifact").status_code == 200
    package = alice.get("/api/v1/packages/evil").json()
    assert package["latest"] == "2.0.0"
    assert [v["quarantined"] for v in package["versions"]] == [True, True, False]

    after = state_counts(actors.server)  # nothing deleted: rows and blobs all stay
    assert (after.versions, after.blobs_rows, after.blob_files) == (
        before.versions, before.blobs_rows, before.blob_files)
    events = admin.get("/api/v1/audit-events", params={"action": "version:quarantine"}).json()
    assert [(e["package"], e["version"], e["actor"]) for e in events] == [
        ("evil", "1.0.0", "sec"), ("evil", "1.1.0", "sec")]
    assert events[0]["details"]["advisory_id"] == advisory_id

    again = sec.post(f"/api/v1/advisories/{advisory_id}/quarantine").json()
    assert again["quarantined"] == [] and len(again["already_quarantined"]) == 2

    assert_problem(alice.post(f"/api/v1/advisories/{advisory_id}/unquarantine"), 403,
                   "forbidden")
    released = sec.post(f"/api/v1/advisories/{advisory_id}/unquarantine").json()
    assert [v["version"] for v in released["released"]] == ["1.0.0", "1.1.0"]
    assert alice.get("/api/v1/packages/evil/versions/1.0.0/artifact").content == b"evil 1.0.0"
    events = admin.get("/api/v1/audit-events", params={"action": "version:unquarantine"}).json()
    assert len(events) == 2


def test_quarantine_applies_only_to_published_malicious_advisories(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "evil", "1.0.0").status_code == 201
    sec = security_client(actors)
    plain = sec.post("/api/v1/advisories", json=generic_advisory("evil")).json()
    assert_problem(sec.post(f"/api/v1/advisories/{plain['id']}/quarantine"), 409,
                   "advisory_not_published")
    sec.post(f"/api/v1/advisories/{plain['id']}/publish")
    assert_problem(sec.post(f"/api/v1/advisories/{plain['id']}/quarantine"), 409,
                   "advisory_not_malicious")
    bad = sec.post("/api/v1/advisories", json=generic_advisory("evil", malicious=True)).json()
    sec.post(f"/api/v1/advisories/{bad['id']}/publish")
    sec.post(f"/api/v1/advisories/{bad['id']}/withdraw", json={"reason": "false alarm"})
    assert_problem(sec.post(f"/api/v1/advisories/{bad['id']}/quarantine"), 409,
                   "advisory_withdrawn")
    assert_problem(sec.post("/api/v1/advisories/x_VOUCH-1999-0001/quarantine"), 404,
                   "advisory_not_found")
    assert alice.get("/api/v1/packages/evil/versions/1.0.0/artifact").status_code == 200


def test_quarantine_reason_and_release_after_narrowing(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    for version in ("0.9.0", "1.0.0"):
        assert publish(alice, "evil", version, version.encode()).status_code == 201
    sec, advisory_id = _published_malicious(actors)  # every version
    report = sec.post(f"/api/v1/advisories/{advisory_id}/quarantine",
                      json={"reason": "confirmed by the team"}).json()
    assert len(report["quarantined"]) == 2
    body = assert_problem(alice.get("/api/v1/packages/evil/versions/0.9.0/artifact"), 403,
                          "version_quarantined")
    assert "confirmed by the team" in body["detail"]
    # Narrow the advisory afterwards: release still lifts every quarantine it set.
    narrowed = generic_advisory("evil", introduced="1.0.0", malicious=True)["affected"]
    assert sec.patch(f"/api/v1/advisories/{advisory_id}",
                     json={"affected": narrowed}).status_code == 200
    released = sec.post(f"/api/v1/advisories/{advisory_id}/unquarantine").json()
    assert len(released["released"]) == 2
    assert alice.get("/api/v1/packages/evil/versions/0.9.0/artifact").content == b"0.9.0"
