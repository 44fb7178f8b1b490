"""The pure Elasticsearch body builders (no server needed)."""

from __future__ import annotations

import json

from search.documents import PackageDocument
from search.elastic_queries import (
    BAND_STEP,
    band_of,
    from_source,
    index_body,
    search_body,
    suggest_body,
    to_source,
)
from search.protocol import SearchFilters
from search.ranking import SEARCH_BANDS, SUGGEST_BANDS
from search.text import normalize_query


def test_index_body_uses_edge_ngram_at_index_time_only():
    body = index_body()
    name = body["mappings"]["properties"]["name"]
    analyzer = body["settings"]["analysis"]["analyzer"][name["analyzer"]]
    tokenizer = body["settings"]["analysis"]["tokenizer"][analyzer["tokenizer"]]
    assert tokenizer["type"] == "edge_ngram"
    assert tokenizer["token_chars"] == ["letter", "digit"]
    assert name["search_analyzer"] == "standard"
    assert body["mappings"]["dynamic"] == "strict"


def test_source_round_trips_and_carries_match_fields():
    doc = PackageDocument("@Acme/Foo", keywords=("HTTP",), maintainers=("Alice",), deprecated=True)
    source = to_source(doc)
    assert source["name_lc"] == "@acme/foo"
    assert source["name_variants"] == ["@acme/foo", "acme/foo", "foo"]
    assert source["keywords_lc"] == ["http"] and source["maintainers_lc"] == ["alice"]
    assert source["demoted"] is True
    assert set(source) <= set(index_body()["mappings"]["properties"])
    assert from_source(json.loads(json.dumps(source))) == doc


def test_suggest_body_bands_in_order():
    body = suggest_body("req", 10)
    functions = body["query"]["function_score"]["functions"]
    assert body["query"]["function_score"]["score_mode"] == "first"
    assert [f["weight"] for f in functions] == [5 * BAND_STEP, 4 * BAND_STEP, 3 * BAND_STEP,
                                                2 * BAND_STEP, BAND_STEP]
    assert functions[0]["filter"] == {"term": {"name_lc": "req"}}
    assert body["sort"][1] == {"downloads_total": "desc"}


def test_search_body_blends_relevance_with_downloads_and_filters():
    filters = SearchFilters(scope="@Acme", include_deprecated=False)
    body = search_body("http client", 20, 10, filters)
    assert (body["from"], body["size"], body["track_total_hits"]) == (20, 10, True)
    inner = body["query"]["function_score"]["query"]["function_score"]
    assert inner["field_value_factor"]["modifier"] == "log2p"
    clauses = inner["query"]["bool"]["filter"]
    assert {"term": {"scope": "acme"}} in clauses
    assert {"bool": {"must_not": [{"term": {"deprecated": True}}]}} in clauses


def test_user_syntax_never_reaches_the_body():
    text = json.dumps(search_body(normalize_query('x AND (y) OR z* "q" \\'), 0, 10))
    assert "(" not in text and "*" not in text
    assert '\\"' not in text and "\\\\" not in text  # no escaped quote or backslash


def test_only_exact_and_prefix_tiers_without_words():
    body = suggest_body("@/", 5)
    functions = body["query"]["function_score"]["functions"]
    assert {json.dumps(f["filter"]) for f in functions} <= {
        json.dumps({"term": {"name_lc": "@/"}}),
        json.dumps({"bool": {"filter": [{"prefix": {"name_variants": "@/"}},
                                         {"term": {"demoted": False}}]}}),
        json.dumps({"bool": {"filter": [{"prefix": {"name_variants": "@/"}},
                                         {"term": {"demoted": True}}]}}),
    }


def test_band_of_recovers_tier_and_inner_score():
    band, inner = band_of(4 * BAND_STEP + 2.5, SEARCH_BANDS)
    assert (band.tier, band.demoted, inner) == ("name", False, 2.5)
    band, inner = band_of(5 * BAND_STEP, SUGGEST_BANDS)
    assert (band.tier, inner) == ("exact", 0.0)
