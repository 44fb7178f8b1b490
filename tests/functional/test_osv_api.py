"""The OSV-compatible API against imported real records: shapes exactly as api.osv.dev."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from advisories.matching import AdvisoryIndex
from advisories.models import Advisory
from app.core.config import Settings
from app.registry import Registry
from tests.conftest import Actors
from tests.functional.helpers import assert_problem
from tests.functional.test_advisories_fixtures import (
    DJANGO_GHSA,
    FASTAPI_GHSA,
    WITHDRAWN_GHSA,
    import_folders,
    osv_folder,
    osv_record,
    security_client,
)
from tests.support.server import running_registry

FOLDERS = ("pypi", "ghsa-pypi", "npm", "ghsa-extra")


@pytest.fixture
def loaded(actors: Actors) -> httpx.Client:
    """A server holding every valid real record; returns an anonymous client."""
    import_folders(security_client(actors), *FOLDERS)
    return actors.client()


def boundary_queries() -> list[dict[str, Any]]:
    """A query at every event version and listed version of every real record."""
    queries: list[dict[str, Any]] = []
    for folder in FOLDERS:
        for record in osv_folder(folder):
            for entry in record.get("affected", []):
                package = entry["package"]
                versions = set(entry.get("versions", []))
                for rng in entry.get("ranges", []):
                    versions.update(v for e in rng["events"] for v in e.values() if v != "0")
                queries.extend({"package": {"ecosystem": package["ecosystem"],
                                            "name": package["name"]}, "version": v}
                               for v in sorted(versions))
    return queries


def test_querybatch_agrees_with_the_library_on_every_boundary(loaded: httpx.Client) -> None:
    index = AdvisoryIndex()
    index.add_all(Advisory.from_json(r) for f in FOLDERS for r in osv_folder(f))
    queries = boundary_queries()
    assert len(queries) > 1000
    matched = 0
    for start in range(0, len(queries), 1000):
        chunk = queries[start:start + 1000]
        response = loaded.post("/v1/querybatch", json={"queries": chunk})
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        assert len(results) == len(chunk)
        for query, result in zip(chunk, results, strict=True):
            expected = index.query(query["package"]["ecosystem"], query["package"]["name"],
                                   query["version"])
            if not expected:
                assert result == {}
                continue
            matched += 1
            assert result == {"vulns": [{"id": r.id, "modified": r.modified}
                                        for r in expected]}
    assert matched > 500


def test_query_returns_full_records_or_an_empty_object(loaded: httpx.Client) -> None:
    query = {"package": {"ecosystem": "PyPI", "name": "Django"}, "version": "3.2.3"}
    body = loaded.post("/v1/query", json=query).json()
    assert list(body) == ["vulns"]
    by_id = {v["id"]: v for v in body["vulns"]}
    assert by_id[DJANGO_GHSA] == osv_record("ghsa-pypi", DJANGO_GHSA)
    fixed = loaded.post("/v1/query", json={**query, "version": "3.2.4"}).json()
    assert DJANGO_GHSA not in {v["id"] for v in fixed.get("vulns", [])}
    none = {"package": {"ecosystem": "PyPI", "name": "fastapi"}, "version": "0.65.2"}
    assert loaded.post("/v1/query", json=none).json() == {}
    unknown = {"package": {"ecosystem": "PyPI", "name": "no-such-package"}, "version": "1"}
    assert loaded.post("/v1/query", json=unknown).json() == {}
    # Without a version: every advisory naming the package.
    every = loaded.post("/v1/query", json={"package": {"ecosystem": "PyPI",
                                                       "name": "fastapi"}}).json()
    assert FASTAPI_GHSA in {v["id"] for v in every["vulns"]}


def test_query_body_is_json_whatever_the_content_type(loaded: httpx.Client) -> None:
    raw = b'{"package": {"ecosystem": "PyPI", "name": "fastapi"}, "version": "0.65.1"}'
    for headers in ({}, {"Content-Type": "text/plain"}):
        response = loaded.post("/v1/query", content=raw, headers=headers)
        assert FASTAPI_GHSA in {v["id"] for v in response.json()["vulns"]}


def test_purl_queries(loaded: httpx.Client) -> None:
    by_name = loaded.post("/v1/query", json={"package": {"ecosystem": "PyPI", "name": "django"},
                                             "version": "3.2.3"}).json()
    by_purl = loaded.post("/v1/query",
                          json={"package": {"purl": "pkg:pypi/Django@3.2.3"}}).json()
    split = loaded.post("/v1/query", json={"package": {"purl": "pkg:pypi/django"},
                                           "version": "3.2.3"}).json()
    assert by_name == by_purl == split and by_name
    npm_record = osv_folder("npm")[0]
    package = npm_record["affected"][0]["package"]["name"]
    purl = "pkg:npm/" + package.replace("@", "%40")
    assert loaded.post("/v1/query", json={"package": {"purl": purl}}).json()


def test_malformed_queries_are_refused(loaded: httpx.Client) -> None:
    both = {"package": {"purl": "pkg:pypi/django@3.2.3"}, "version": "3.2.3"}
    body = assert_problem(loaded.post("/v1/query", json=both), 400, "invalid_query")
    assert body["message"] == "version specified in params and PURL query"
    mixed = {"package": {"purl": "pkg:pypi/django", "name": "django"}, "version": "1"}
    assert_problem(loaded.post("/v1/query", json=mixed), 400, "invalid_query")
    lower = {"package": {"ecosystem": "pypi", "name": "django"}, "version": "3.2.3"}
    body = assert_problem(loaded.post("/v1/query", json=lower), 400, "invalid_query")
    assert "invalid ecosystem" in body["detail"]
    assert_problem(loaded.post("/v1/query", json={"package": {"purl": "pkg:cargo/x"}}), 400,
                   "invalid_purl")
    assert_problem(loaded.post("/v1/query", content=b"{nope"), 400, "invalid_query")
    assert_problem(loaded.post("/v1/query", json={"version": "1.0"}), 400, "invalid_query")
    # A commit query matches nothing here (no commit index), without failing a batch.
    assert loaded.post("/v1/query", json={"commit": "a" * 40}).json() == {}
    too_many = {"queries": [{"package": {"ecosystem": "PyPI", "name": "x"}, "version": "1"}]
                * 1001}
    body = assert_problem(loaded.post("/v1/querybatch", json=too_many), 400, "invalid_query")
    assert "too many queries" in body["detail"]


def test_querybatch_keeps_order_and_returns_ids_only(loaded: httpx.Client) -> None:
    queries = [
        {"package": {"ecosystem": "PyPI", "name": "fastapi"}, "version": "0.65.1"},
        {"package": {"ecosystem": "PyPI", "name": "fastapi"}, "version": "0.65.2"},
        {"commit": "b" * 40},
        {"package": {"purl": "pkg:pypi/django@3.2.3"}},
    ]
    results = loaded.post("/v1/querybatch", json={"queries": queries}).json()["results"]
    modified = osv_record("ghsa-pypi", FASTAPI_GHSA)["modified"]
    assert {"id": FASTAPI_GHSA, "modified": modified} in results[0]["vulns"]
    assert results[1] == {} and results[2] == {}
    assert all(set(v) == {"id", "modified"} for v in results[3]["vulns"])
    assert DJANGO_GHSA in {v["id"] for v in results[3]["vulns"]}


def test_vulns_by_id_withdrawn_included_unknown_404(loaded: httpx.Client) -> None:
    assert loaded.get(f"/v1/vulns/{FASTAPI_GHSA}").json() == osv_record("ghsa-pypi",
                                                                        FASTAPI_GHSA)
    withdrawn = loaded.get(f"/v1/vulns/{WITHDRAWN_GHSA}").json()
    assert withdrawn == osv_record("ghsa-extra", WITHDRAWN_GHSA) and withdrawn["withdrawn"]
    body = assert_problem(loaded.get("/v1/vulns/GHSA-0000-0000-0000"), 404,
                          "advisory_not_found")
    assert body["message"].startswith("Vulnerability not found")
    alias = assert_problem(loaded.get("/v1/vulns/CVE-2021-32677"), 404, "advisory_not_found")
    assert FASTAPI_GHSA in alias["detail"] and "aliases" in alias["detail"]


def test_withdrawn_records_never_match(actors: Actors, loaded: httpx.Client) -> None:
    sec = security_client(actors, "sec2")
    query = {"package": {"ecosystem": "PyPI", "name": "fastapi"}, "version": "0.65.1"}
    assert FASTAPI_GHSA in {v["id"] for v in loaded.post("/v1/query", json=query).json()["vulns"]}
    sec.post(f"/api/v1/advisories/{FASTAPI_GHSA}/withdraw", json={"reason": "test withdrawal"})
    after = loaded.post("/v1/query", json=query).json()
    assert FASTAPI_GHSA not in {v["id"] for v in after.get("vulns", [])}
    batch = loaded.post("/v1/querybatch", json={"queries": [query]}).json()["results"][0]
    assert FASTAPI_GHSA not in {v["id"] for v in batch.get("vulns", [])}
    record = loaded.get(f"/v1/vulns/{FASTAPI_GHSA}").json()
    assert record["withdrawn"] and record["details"].startswith("Withdrawn: test withdrawal")
    # The RubyGems record has an explicit-looking range but is withdrawn upstream.
    sensu = {"package": {"ecosystem": "RubyGems", "name": "sensu"}, "version": "1.2.0"}
    assert loaded.post("/v1/query", json=sensu).json() == {}


@pytest.fixture
def second_server(settings: Settings, actors: Actors) -> Iterator[str]:
    """Another app process-alike on the same database, with its own in-memory index."""
    registry = Registry.build(settings, clock=actors.server.clock, migrate=False)
    with running_registry(settings, actors.server.clock, registry) as other:
        yield other.url


def test_a_write_in_one_process_is_seen_by_another(actors: Actors, second_server: str) -> None:
    sec = security_client(actors)
    other = httpx.Client(base_url=second_server, timeout=30)
    query = {"package": {"ecosystem": "PyPI", "name": "fastapi"}, "version": "0.65.1"}
    assert other.post("/v1/query", json=query).json() == {}  # builds its index: empty
    sec.post("/api/v1/advisories/import", json=osv_record("ghsa-pypi", FASTAPI_GHSA))
    assert [v["id"] for v in other.post("/v1/query", json=query).json()["vulns"]] == [
        FASTAPI_GHSA]
    sec.post(f"/api/v1/advisories/{FASTAPI_GHSA}/withdraw", json={"reason": "gone"})
    assert other.post("/v1/query", json=query).json() == {}
    assert other.get(f"/v1/vulns/{FASTAPI_GHSA}").json()["withdrawn"]
