"""Bulk import of real OSV records: idempotent by id + modified, invalid records reported."""

from __future__ import annotations

import json

from tests.conftest import Actors
from tests.functional.helpers import assert_problem
from tests.functional.test_advisories_fixtures import (
    FASTAPI_GHSA,
    OSV_DATA,
    osv_folder,
    osv_record,
    security_client,
)


def test_import_reports_invalid_records_and_imports_the_rest(actors: Actors) -> None:
    sec = security_client(actors)
    admin = actors.client(actors.user("root", admin=True))
    good = osv_folder("ghsa-pypi")
    invalid_pypi = json.loads((OSV_DATA / "invalid/pypi/PYSEC-2017-27.json").read_text())
    invalid_npm = json.loads((OSV_DATA / "invalid/npm/GHSA-2p62-c4rm-mr72.json").read_text())
    body = [good[0], invalid_pypi, *good[1:], invalid_npm, "not a record"]
    report = sec.post("/api/v1/advisories/import", json=body).json()
    assert (report["created"], report["invalid"]) == (25, 3)
    invalid = {r["source"]: r for r in report["results"] if r["status"] == "invalid"}
    assert set(invalid) == {"<input>#1", "<input>#26", "<input>#27"}
    assert invalid["<input>#1"]["id"] == "PYSEC-2017-27"
    assert "affected/0/ranges/0/events/1" in invalid["<input>#1"]["reasons"][0]
    assert invalid["<input>#26"]["reasons"][0].startswith("severity/0/score")
    assert invalid["<input>#27"]["reasons"]
    # The 25 valid records are stored and queryable; the invalid ones are not.
    assert sec.get(f"/v1/vulns/{FASTAPI_GHSA}").status_code == 200
    assert_problem(sec.get("/v1/vulns/PYSEC-2017-27"), 404, "advisory_not_found")
    events = admin.get("/api/v1/audit-events",
                       params={"action": "advisory:import", "limit": 1000}).json()
    assert len(events) == 25 and {e["details"]["status"] for e in events} == {"created"}


def test_import_is_idempotent_by_id_and_modified(actors: Actors) -> None:
    sec = security_client(actors)
    admin = actors.client(actors.user("root", admin=True))
    records = osv_folder("ghsa-pypi")
    first = sec.post("/api/v1/advisories/import", json=records).json()
    assert first["created"] == 25
    again = sec.post("/api/v1/advisories/import", json=records).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 25)

    newer = osv_record("ghsa-pypi", FASTAPI_GHSA)
    newer["modified"] = "2030-01-01T00:00:00Z"
    newer["summary"] = "updated upstream"
    older = dict(newer, modified="2001-01-01T00:00:00Z", summary="stale copy")
    report = sec.post("/api/v1/advisories/import", json=newer).json()  # one object is fine
    assert (report["updated"], report["results"][0]["id"]) == (1, FASTAPI_GHSA)
    assert sec.post("/api/v1/advisories/import", json=[older]).json()["unchanged"] == 1
    assert sec.get(f"/v1/vulns/{FASTAPI_GHSA}").json()["summary"] == "updated upstream"
    # The same id twice in one import: the first decides, a same-modified repeat is a no-op.
    twice = dict(newer, modified="2031-01-01T00:00:00Z")
    report = sec.post("/api/v1/advisories/import", json=[twice, twice]).json()
    assert [r["status"] for r in report["results"]] == ["updated", "unchanged"]

    events = admin.get("/api/v1/audit-events",
                       params={"action": "advisory:import", "limit": 1000}).json()
    assert len(events) == 25 + 2
    assert_problem(sec.post("/api/v1/advisories/import", json="nope"), 400, "malformed_input")


def test_imported_withdrawal_stops_matching(actors: Actors) -> None:
    sec = security_client(actors)
    record = osv_record("ghsa-pypi", FASTAPI_GHSA)
    sec.post("/api/v1/advisories/import", json=record)
    query = {"package": {"ecosystem": "PyPI", "name": "fastapi"}, "version": "0.65.1"}
    assert [v["id"] for v in sec.post("/v1/query", json=query).json()["vulns"]] == [FASTAPI_GHSA]
    withdrawn = dict(record, modified="2030-01-01T00:00:00Z", withdrawn="2030-01-01T00:00:00Z")
    assert sec.post("/api/v1/advisories/import", json=withdrawn).json()["updated"] == 1
    assert sec.post("/v1/query", json=query).json() == {}
    doc = sec.get(f"/api/v1/advisories/{FASTAPI_GHSA}").json()
    assert doc["state"] == "withdrawn"
