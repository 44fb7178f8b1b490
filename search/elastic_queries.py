"""Elasticsearch index definition and request bodies, as pure functions returning dicts.

    from search.elastic_queries import index_body, suggest_body, search_body

    body = suggest_body("req", limit=10)   # pass to client.search(index=alias, **body)

Analysis: ``name`` is indexed with an ``edge_ngram`` tokenizer (``token_chars`` letter and
digit, so ``-_./@`` split words; 1 to 20 characters) and searched with the ``standard``
analyzer, the pattern the Elasticsearch docs give for autocomplete. Query text is cleaned by
`search.text` first, so the search analyzer only ever sees plain words.

Ranking: the bands of `search.ranking` become an outer ``function_score`` whose functions
(``score_mode: first``) add a band weight (`BAND_STEP` apart) to the inner score; the first
function whose filter matches wins, so a band never overlaps an earlier one. The inner score
is text relevance multiplied by ``field_value_factor`` ``log2p`` (log10(2 + downloads)) for
search, and a constant for suggest, whose bands are then ordered by ``sort`` on downloads.
Everything used (edge_ngram, match, term, prefix, bool, function_score with filtered
functions, field_value_factor) works on Elasticsearch 8/9 and on the noida-db emulator; no
``rank_feature`` is needed.
"""

from __future__ import annotations

from typing import Any

from search.documents import NATIVE, PackageDocument
from search.protocol import SearchFilters, normalize_scope
from search.ranking import EXACT, NAME, PREFIX, SEARCH_BANDS, SUGGEST_BANDS, TEXT, WORD, Band
from search.text import MAX_GRAM, gram, name_query, name_variants, query_tokens

BAND_STEP = 10_000.0  # inner scores stay far below this (float32 keeps ~3 decimals at 5e4)
Body = dict[str, Any]

_KEYWORD = {"type": "keyword"}
_BOOL = {"type": "boolean"}


def index_body(shards: int = 1) -> Body:
    """Settings and mappings for a fresh packages index (one shard: BM25 stats are global)."""
    return {
        "settings": {
            "number_of_shards": shards,
            "analysis": {
                "tokenizer": {
                    "name_edge_ngram": {
                        "type": "edge_ngram",
                        "min_gram": 1,
                        "max_gram": MAX_GRAM,
                        "token_chars": ["letter", "digit"],
                    }
                },
                "analyzer": {
                    "name_autocomplete": {
                        "type": "custom",
                        "tokenizer": "name_edge_ngram",
                        "filter": ["lowercase"],
                    }
                },
            },
        },
        "mappings": {
            "dynamic": "strict",
            "properties": {
                "name": {
                    "type": "text",
                    "analyzer": "name_autocomplete",
                    "search_analyzer": "standard",
                },
                "name_lc": _KEYWORD,
                "ecosystem": _KEYWORD,
                "name_variants": _KEYWORD,
                "scope": _KEYWORD,
                "description": {"type": "text"},
                "keywords": {"type": "text"},
                "keywords_lc": _KEYWORD,
                "maintainers": _KEYWORD,
                "maintainers_lc": _KEYWORD,
                "latest_version": _KEYWORD,
                "downloads_total": {"type": "long"},
                "downloads_recent": {"type": "long"},
                "deprecated": _BOOL,
                "quarantined": _BOOL,
                "demoted": _BOOL,
                "has_advisories": _BOOL,
                "verified_publisher": _BOOL,
                "updated_at": {"type": "date"},
            },
        },
    }


def to_source(doc: PackageDocument) -> Body:
    """The ``_source`` indexed for a document: its plain data plus derived match fields."""
    source = doc.to_dict()
    if doc.ecosystem == NATIVE:  # a native document keeps the shape it had before formats
        del source["ecosystem"]
    source["scope"] = doc.scope.lower() if doc.scope else None
    source["name_lc"] = doc.key
    source["name_variants"] = name_variants(doc.name)
    source["keywords_lc"] = [k.lower() for k in doc.keywords]
    source["maintainers_lc"] = [m.lower() for m in doc.maintainers]
    source["demoted"] = doc.demoted
    return source


def from_source(source: Body) -> PackageDocument:
    """Rebuild the package document from a hit's ``_source``."""
    fields = set(PackageDocument.__dataclass_fields__)
    data = {k: v for k, v in source.items() if k in fields}
    data["scope"] = None  # re-derived from the name (the indexed copy is lower-cased)
    return PackageDocument.from_dict(data)


def _term(field: str, value: object) -> Body:
    return {"term": {field: value}}


def _tier_clauses(normalized: str, tiers: tuple[str, ...]) -> dict[str, Body]:
    tokens = query_tokens(normalized)
    words = " ".join(gram(t) for t in tokens)
    whole = name_query(normalized)
    clauses: dict[str, Body] = {EXACT: _term("name_lc", whole)}
    if PREFIX in tiers and whole:
        clauses[PREFIX] = {"prefix": {"name_variants": whole}}
    if WORD in tiers or NAME in tiers:
        name = {"match": {"name": {"query": words, "operator": "and"}}}
        clauses[WORD if WORD in tiers else NAME] = name
    if TEXT in tiers:
        per_token = [
            {"multi_match": {"query": t, "fields": ["name", "description", "keywords"]}}
            for t in tokens
        ]
        clauses[TEXT] = {"bool": {"must": per_token}}
    if not tokens:  # nothing word-like was typed: only the exact and prefix tiers can match
        clauses = {k: v for k, v in clauses.items() if k in (EXACT, PREFIX)}
    return clauses


def _band_functions(bands: tuple[Band, ...], clauses: dict[str, Body]) -> list[Body]:
    functions: list[Body] = []
    for rank, band in enumerate(bands):
        if band.tier not in clauses:
            continue
        band_filter: Body = clauses[band.tier]
        if band.demoted is not None:
            band_filter = {
                "bool": {"filter": [band_filter, _term("demoted", band.demoted)]}
            }
        functions.append({"filter": band_filter, "weight": (len(bands) - rank) * BAND_STEP})
    return functions


def band_of(score: float, bands: tuple[Band, ...]) -> tuple[Band, float]:
    """The band a hit's score puts it in, and its score inside that band."""
    level = max(1, min(len(bands), int(score // BAND_STEP)))
    return bands[len(bands) - level], score - level * BAND_STEP


def filter_clauses(filters: SearchFilters | None) -> list[Body]:
    """``bool.filter`` clauses for the user's filters."""
    if filters is None:
        return []
    out: list[Body] = []
    scope = normalize_scope(filters.scope)
    if scope is not None:
        out.append(_term("scope", scope))
    if filters.keyword is not None:
        out.append(_term("keywords_lc", filters.keyword.lower()))
    if filters.maintainer is not None:
        out.append(_term("maintainers_lc", filters.maintainer.lower()))
    for field, flag in (
        ("verified_publisher", filters.verified_publisher),
        ("has_advisories", filters.has_advisories),
    ):
        if flag is not None:
            out.append(_term(field, flag))
    excluded = [
        _term(field, True)
        for field, include in (
            ("deprecated", filters.include_deprecated),
            ("quarantined", filters.include_quarantined),
        )
        if not include
    ]
    if excluded:
        out.append({"bool": {"must_not": excluded}})
    return out


_SORT = [{"_score": "desc"}, {"downloads_total": "desc"}, {"name_lc": "asc"}]


def suggest_body(normalized: str, limit: int) -> Body:
    """A search request for autocomplete of an already normalized prefix."""
    clauses = _tier_clauses(normalized, (PREFIX, WORD))
    eligible = {"bool": {"should": list(clauses.values()), "minimum_should_match": 1}}
    query = {
        "function_score": {
            "query": {"bool": {"filter": [eligible]}},
            "functions": _band_functions(SUGGEST_BANDS, clauses),
            "score_mode": "first",
            "boost_mode": "replace",
        }
    }
    return {"query": query, "size": limit, "sort": _SORT, "track_scores": True}


def search_body(
    normalized: str, offset: int, size: int, filters: SearchFilters | None = None
) -> Body:
    """A search request for a page of full-text results of an already normalized query."""
    clauses = _tier_clauses(normalized, (NAME, TEXT))
    eligible = {"bool": {"should": list(clauses.values()), "minimum_should_match": 1}}
    words = " ".join(query_tokens(normalized))
    relevance = [
        {"match": {"name": {"query": " ".join(gram(w) for w in words.split()), "boost": 3}}},
        {"match": {"description": {"query": words}}},
        {"match": {"keywords": {"query": words}}},
    ]
    blended = {
        "function_score": {
            "query": {
                "bool": {"filter": [eligible, *filter_clauses(filters)], "should": relevance}
            },
            "field_value_factor": {"field": "downloads_total", "modifier": "log2p", "missing": 0},
            "boost_mode": "multiply",
        }
    }
    query = {
        "function_score": {
            "query": blended,
            "functions": _band_functions(SEARCH_BANDS, clauses),
            "score_mode": "first",
            "boost_mode": "sum",
        }
    }
    return {
        "query": query,
        "from": offset,
        "size": size,
        "sort": _SORT,
        "track_scores": True,
        "track_total_hits": True,
    }
