"""The security team's advisory lifecycle over real HTTP: roles, drafts, audit, listing."""

from __future__ import annotations

import httpx

from tests.conftest import Actors
from tests.functional.helpers import assert_problem, publish
from tests.functional.test_advisories_fixtures import (
    DJANGO_GHSA,
    WITHDRAWN_GHSA,
    generic_advisory,
    import_folders,
    security_client,
)


def test_ordinary_users_and_anonymous_callers_cannot_change_advisories(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    sec = security_client(actors)
    created = sec.post("/api/v1/advisories", json=generic_advisory("pkg")).json()
    advisory_id = created["id"]
    for client, status, code in ((alice, 403, "forbidden"),
                                 (actors.client(), 401, "not_authenticated")):
        assert_problem(client.post("/api/v1/advisories", json=generic_advisory("x")),
                       status, code)
        assert_problem(client.patch(f"/api/v1/advisories/{advisory_id}",
                                    json={"details": "x"}), status, code)
        assert_problem(client.post(f"/api/v1/advisories/{advisory_id}/publish"), status, code)
        assert_problem(client.post(f"/api/v1/advisories/{advisory_id}/withdraw",
                                   json={"reason": "x"}), status, code)
        assert_problem(client.post("/api/v1/advisories/import", json=[]), status, code)
    # A security user's token restricted to other actions does not carry the role.
    narrow = actors.client(actors.token("sec", actions=["publish"]))
    assert_problem(narrow.post(f"/api/v1/advisories/{advisory_id}/publish"), 403, "forbidden")
    # Nothing changed: still the same draft.
    assert sec.get(f"/api/v1/advisories/{advisory_id}").json()["modified"] == created["modified"]


def test_security_team_lifecycle_is_audited(actors: Actors) -> None:
    admin = actors.client(actors.user("root", admin=True))
    sec = security_client(actors)
    first = sec.post("/api/v1/advisories", json=generic_advisory("pkg", fixed="2.0.0"))
    assert first.status_code == 201, first.text
    draft = first.json()
    year = actors.server.clock.now().year
    assert draft["id"] == f"x_VOUCH-{year}-0001" and draft["state"] == "draft"
    assert draft["severity"] == "critical" and draft["record"]["schema_version"] == "1.7.5"
    assert sec.post("/api/v1/advisories", json=generic_advisory("b")).json()["id"] == (
        f"x_VOUCH-{year}-0002")
    advisory_id = draft["id"]

    # Drafts are not public.
    assert_problem(actors.client().get(f"/api/v1/advisories/{advisory_id}"), 404,
                   "advisory_not_found")
    assert actors.client().get("/api/v1/advisories").json() == []
    assert_problem(actors.client().get(f"/v1/vulns/{advisory_id}"), 404, "advisory_not_found")

    edited = sec.patch(f"/api/v1/advisories/{advisory_id}", json={"details": "more"})
    assert edited.status_code == 200 and edited.json()["record"]["details"] == "more"
    published = sec.post(f"/api/v1/advisories/{advisory_id}/publish").json()
    assert published["state"] == "published" and published["published"] is not None
    assert_problem(sec.post(f"/api/v1/advisories/{advisory_id}/publish"), 409,
                   "advisory_already_published")
    assert actors.client().get(f"/v1/vulns/{advisory_id}").json()["details"] == "more"

    assert_problem(sec.post(f"/api/v1/advisories/{advisory_id}/withdraw", json={}), 422,
                   "validation_error")
    withdrawn = sec.post(f"/api/v1/advisories/{advisory_id}/withdraw",
                         json={"reason": "duplicate of GHSA-xxxx"}).json()
    assert withdrawn["state"] == "withdrawn"
    assert withdrawn["withdrawn_reason"] == "duplicate of GHSA-xxxx"
    assert withdrawn["record"]["details"].startswith("Withdrawn: duplicate of GHSA-xxxx")
    assert_problem(sec.patch(f"/api/v1/advisories/{advisory_id}", json={"details": "x"}),
                   409, "advisory_withdrawn")

    events = admin.get("/api/v1/audit-events", params={"actor": "sec"}).json()
    mine = [(e["action"], e["details"].get("advisory_id")) for e in events
            if e["action"].startswith("advisory:")]
    assert mine == [("advisory:create", advisory_id), ("advisory:create", f"x_VOUCH-{year}-0002"),
                    ("advisory:edit", advisory_id), ("advisory:publish", advisory_id),
                    ("advisory:withdraw", advisory_id)]
    assert events[-1]["details"]["reason"] == "duplicate of GHSA-xxxx"


def test_invalid_drafts_and_refused_transitions(actors: Actors) -> None:
    sec = security_client(actors)
    bad = generic_advisory("pkg")
    bad["affected"][0]["ranges"][0]["events"] = [{"introduced": "0"}, {"fixed": "1.0.0"},
                                                 {"last_affected": "0.9.0"}]
    body = assert_problem(sec.post("/api/v1/advisories", json=bad), 400, "invalid_advisory")
    assert body["reasons"], body
    body = assert_problem(sec.post("/api/v1/advisories", json={"id": "x_VOUCH-2020-0009"}),
                          400, "invalid_advisory")
    assert "id: set by the lifecycle" in body["reasons"][0]
    draft = sec.post("/api/v1/advisories", json=generic_advisory("pkg")).json()
    assert_problem(sec.post(f"/api/v1/advisories/{draft['id']}/withdraw",
                            json={"reason": "oops"}), 409, "advisory_not_published")
    assert_problem(sec.post("/api/v1/advisories/x_VOUCH-2000-0001/publish"), 404,
                   "advisory_not_found")
    # Administrators hold the role too.
    admin = actors.client(actors.user("root", admin=True))
    assert admin.post(f"/api/v1/advisories/{draft['id']}/publish").status_code == 200


def test_list_filters(actors: Actors) -> None:
    sec = security_client(actors)
    import_folders(sec, "ghsa-pypi", "ghsa-extra")
    sec.post("/api/v1/advisories", json=generic_advisory("pkg"))  # a draft
    anon = actors.client()

    def ids(client: httpx.Client = anon, **params: str) -> set[str]:
        response = client.get("/api/v1/advisories", params={"limit": "1000", **params})
        assert response.status_code == 200, response.text
        return {doc["id"] for doc in response.json()}

    assert len(ids()) == 27
    assert ids(package="Django", ecosystem="PyPI") == {DJANGO_GHSA}
    assert ids(package="django") == {DJANGO_GHSA}
    assert ids(withdrawn="true") == {"GHSA-3q5q-f79q-7hr2", WITHDRAWN_GHSA}
    assert ids(state="withdrawn") == ids(withdrawn="true")
    assert ids(ecosystem="RubyGems") == ids(withdrawn="true")
    assert len(ids(withdrawn="false")) == 25
    high = anon.get("/api/v1/advisories", params={"severity": "high", "limit": 1000}).json()
    assert high and {doc["severity"] for doc in high} == {"high"}
    assert ids(state="draft") == set()
    assert len(ids(sec, state="draft")) == 1
    assert_problem(anon.get("/api/v1/advisories", params={"severity": "urgent"}), 422,
                   "validation_error")
    page = anon.get("/api/v1/advisories", params={"limit": 5, "offset": 5}).json()
    assert len(page) == 5 and "record" in page[0] and page[0]["record"] is None


def test_version_documents_list_the_advisories_that_affect_them(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    sec = security_client(actors)
    for version in ("1.0.0", "1.5.0", "2.0.0"):
        assert publish(alice, "pkg", version, f"bytes {version}".encode()).status_code == 201
    draft = sec.post("/api/v1/advisories",
                     json=generic_advisory("pkg", introduced="1.0.0", fixed="2.0.0")).json()

    def listed(version: str) -> list[str]:
        doc = alice.get(f"/api/v1/packages/pkg/versions/{version}").json()
        return [a["id"] for a in doc["advisories"]]

    assert listed("1.0.0") == []  # a draft is not public
    sec.post(f"/api/v1/advisories/{draft['id']}/publish")
    assert listed("1.0.0") == [draft["id"]] and listed("1.5.0") == [draft["id"]]
    assert listed("2.0.0") == []
    # The same advisory over the OSV API: this registry's packages are ecosystem "Vouch".
    osv = {"package": {"ecosystem": "Vouch", "name": "pkg"}, "version": "1.5.0"}
    assert [v["id"] for v in alice.post("/v1/query", json=osv).json()["vulns"]] == [draft["id"]]
    purl = {"package": {"purl": "pkg:generic/pkg@1.5.0"}}
    assert alice.post("/v1/query", json=purl).json() == alice.post("/v1/query", json=osv).json()
    assert alice.post("/v1/query", json={**osv, "version": "2.0.0"}).json() == {}
    entry = alice.get("/api/v1/packages/pkg/versions/1.5.0").json()["advisories"][0]
    assert entry["severity"] == "critical" and entry["summary"] == "a flaw"
    sec.post(f"/api/v1/advisories/{draft['id']}/withdraw", json={"reason": "not a flaw"})
    assert listed("1.0.0") == []


def test_export_then_import_is_a_no_op(actors: Actors) -> None:
    sec = security_client(actors)
    import_folders(sec, "ghsa-pypi", "ghsa-extra")
    draft = sec.post("/api/v1/advisories", json=generic_advisory("pkg")).json()
    exported = actors.client().get("/api/v1/advisories/export")
    assert exported.status_code == 200
    records = exported.json()
    assert [r["id"] for r in records] == sorted(r["id"] for r in records)
    assert len(records) == 27 and draft["id"] not in {r["id"] for r in records}
    assert_problem(actors.client().get("/api/v1/advisories/export",
                                       params={"include_drafts": "true"}), 401,
                   "not_authenticated")
    with_drafts = sec.get("/api/v1/advisories/export", params={"include_drafts": "true"}).json()
    assert len(with_drafts) == 28
    report = sec.post("/api/v1/advisories/import", json=records).json()
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 27)
