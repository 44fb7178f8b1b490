from __future__ import annotations

from advisories.matching import AdvisoryIndex, Query
from advisories.models import Advisory

from .conftest import DATA, corpus_files, load_json


def _load(corpus: str, advisory_id: str) -> Advisory:
    return Advisory.from_json(load_json(DATA / corpus / f"{advisory_id}.json"))


def _real_index() -> AdvisoryIndex:
    index = AdvisoryIndex()
    index.add_all(Advisory.from_json(load_json(p)) for p in corpus_files())
    return index


def test_query_real_pypi_record_with_normalised_names():
    index = _real_index()
    # PYSEC-2022-236 (pyspark): [0, 3.1.1) and [3.2.0, 3.2.2) plus the explicit list.
    ids = [r.id for r in index.query("PyPI", "PySpark", "3.2.1")]
    assert "PYSEC-2022-236" in ids
    assert "PYSEC-2022-236" not in [r.id for r in index.query("pypi", "pyspark", "3.2.2")]
    assert "PYSEC-2022-236" in [
        r.id for r in index.query("pypi", "py_spark".replace("_", ""), "3.1.2")
    ]


def test_npm_names_are_case_sensitive_and_scoped():
    index = _real_index()
    hoek = index.query("npm", "@hapi/hoek", None)
    assert hoek and all(
        any(a.package and a.package.name == "@hapi/hoek" for a in r.affected or []) for r in hoek
    )
    assert index.query("npm", "@HAPI/hoek", None) == []


def test_withdrawn_records_are_retrievable_but_never_match():
    index = _real_index()
    record = index.get("GHSA-3q5q-f79q-7hr2")
    assert record is not None and record.is_withdrawn
    assert index.query("RubyGems", "rubyzip", "1.0.0") == []
    assert index.query("RubyGems", "rubyzip", None) == []


def test_a_record_with_several_entries_for_one_package_is_returned_once():
    index = _real_index()
    results = index.query("PyPI", "paramiko", "2.0.1")  # GHSA-232r-66cg-79px: 7 entries
    ids = [r.id for r in results]
    assert ids.count("GHSA-232r-66cg-79px") == 1
    assert ids == sorted(ids)


def test_query_batch_keeps_order_and_handles_unknowns():
    index = _real_index()
    queries = [
        Query("PyPI", "pyspark", "3.1.2"),
        Query("npm", "no-such-package", "1.0.0"),
        Query("PyPI", "pyspark", "not a version"),
    ]
    results = index.query_batch(queries)
    assert len(results) == 3
    assert "PYSEC-2022-236" in [r.id for r in results[0]]
    assert results[1] == [] and results[2] == []


def test_replace_and_remove(minimal):
    index = AdvisoryIndex()
    index.add(Advisory.from_json(minimal))
    assert [r.id for r in index.query("pypi", "demo", "1.0")] == ["x_VOUCH-2026-0001"]
    minimal["affected"][0]["package"]["name"] = "other"
    minimal["modified"] = "2026-02-01T00:00:00Z"
    index.add(Advisory.from_json(minimal))  # same id: replaces
    assert index.query("pypi", "demo", "1.0") == []
    assert len(index.query("pypi", "other", "1.0")) == 1
    assert len(index) == 1 and "x_VOUCH-2026-0001" in index
    assert index.remove("x_VOUCH-2026-0001") and not index.remove("x_VOUCH-2026-0001")
    assert index.query("pypi", "other", "1.0") == []


def test_problems_are_kept_per_record(minimal):
    minimal["affected"][0]["ranges"][0]["events"][1] = {"fixed": "??"}
    index = AdvisoryIndex()
    index.add(Advisory.from_json(minimal))
    assert index.query("pypi", "demo", "1.0") == []
    assert "'??' is not a PEP 440 version" in index.problems("x_VOUCH-2026-0001")[0].reason


def test_generic_packages_use_the_local_ecosystem(minimal):
    minimal["affected"][0]["package"] = {"ecosystem": "Vouch", "name": "@acme/tool"}
    minimal["affected"][0]["ranges"][0]["events"] = [{"introduced": "1.0.0"}, {"fixed": "1.4.0"}]
    index = AdvisoryIndex()
    index.add(Advisory.from_json(minimal))
    assert len(index.query("generic", "@acme/tool", "1.2.0-beta.1")) == 1
    assert index.query("generic", "@acme/tool", "1.4.0") == []
