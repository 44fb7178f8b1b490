"""tantivy queries for the ranking bands of `search.ranking` (pure; no index needed).

    from search.embedded_queries import suggest_plan

    for band, query in suggest_plan("req"):
        searcher.search(query, 10, order_by_field="downloads_total")

Each band's query is "matches this tier, matches no earlier tier, has this demoted flag,
passes the filters". Filter clauses score zero, so scores only reflect text relevance.
"""

from __future__ import annotations

from collections.abc import Sequence

from tantivy import Occur, Query

from search.embedded_schema import SCHEMA
from search.protocol import SearchFilters, normalize_scope
from search.ranking import EXACT, NAME, PREFIX, SEARCH_BANDS, SUGGEST_BANDS, TEXT, WORD, Band
from search.text import MAX_NAME_PREFIX, gram, name_query, query_tokens

Plan = list[tuple[Band, Query]]


def _term(field: str, value: object, option: str = "basic") -> Query:
    return Query.term_query(SCHEMA, field, value, index_option=option)


def _all(clauses: Sequence[Query]) -> Query:
    if not clauses:
        return Query.empty_query()
    return Query.boolean_query([(Occur.Must, c) for c in clauses])


def _any(clauses: Sequence[Query]) -> Query:
    return Query.boolean_query([(Occur.Should, c) for c in clauses], 1)


def _filter(query: Query) -> Query:
    return Query.const_score_query(query, 0.0)


def _word_match(tokens: list[str]) -> Query:
    return _all([_term("name_words", gram(t), "freq") for t in tokens])


def _text_match(tokens: list[str]) -> Query:
    return _all(
        [
            _any(
                [
                    _term("name_words", gram(t), "freq"),
                    _term("description", t, "freq"),
                    _term("keywords", t, "freq"),
                ]
            )
            for t in tokens
        ]
    )


def _relevance(tokens: list[str]) -> list[tuple[Occur, Query]]:
    """The scoring clauses of every search band: name words (x3), description, keywords.

    The same shape as the Elasticsearch backend's ``should`` clauses; band membership itself
    is decided by non-scoring clauses.
    """
    out: list[tuple[Occur, Query]] = []
    for t in tokens:
        out.append((Occur.Should, Query.boost_query(_term("name_words", gram(t), "freq"), 3.0)))
        out.append((Occur.Should, _term("description", t, "freq")))
        out.append((Occur.Should, _term("keywords", t, "freq")))
    return out


def _filters(filters: SearchFilters | None) -> list[tuple[Occur, Query]]:
    if filters is None:
        return []
    out: list[tuple[Occur, Query]] = []
    for field, value in (
        ("scope", normalize_scope(filters.scope)),
        ("keywords_lc", filters.keyword),
        ("maintainers_lc", filters.maintainer),
    ):
        if value is not None:
            out.append((Occur.Must, _filter(_term(field, value.lower()))))
    for field, flag in (
        ("verified_publisher", filters.verified_publisher),
        ("has_advisories", filters.has_advisories),
    ):
        if flag is not None:
            out.append((Occur.Must, _filter(_term(field, flag))))
    if not filters.include_deprecated:
        out.append((Occur.MustNot, _term("deprecated", True)))
    if not filters.include_quarantined:
        out.append((Occur.MustNot, _term("quarantined", True)))
    return out


def _plan(
    bands: Sequence[Band],
    tiers: dict[str, Query],
    extra: list[tuple[Occur, Query]],
) -> Plan:
    plan: Plan = []
    earlier: list[Query] = []
    for band in bands:
        tier = tiers[band.tier]
        clauses: list[tuple[Occur, Query]] = [(Occur.Must, _filter(tier))]  # membership only
        clauses += [(Occur.MustNot, q) for q in earlier]
        if band.demoted is True:
            clauses.append((Occur.Must, _filter(_term("demoted", True))))
        elif band.demoted is False:
            clauses.append((Occur.MustNot, _term("demoted", True)))
        plan.append((band, Query.boolean_query(clauses + extra)))
        if band.demoted is not False:  # the tier is complete once its demoted half is planned
            earlier.append(tier)
    return plan


def suggest_plan(normalized: str) -> Plan:
    """Band queries for autocomplete of an already normalized prefix (may be empty)."""
    if not normalized:
        return []
    tokens = query_tokens(normalized)
    whole = name_query(normalized)
    prefix = (
        _term("name_prefix", whole)
        if whole and len(whole) <= MAX_NAME_PREFIX
        else Query.empty_query()
    )
    tiers = {EXACT: _term("key", whole), PREFIX: prefix, WORD: _word_match(tokens)}
    return _plan(SUGGEST_BANDS, tiers, [])


def search_plan(normalized: str, filters: SearchFilters | None) -> Plan:
    """Band queries for a full-text search of an already normalized query (may be empty)."""
    if not normalized:
        return []
    tokens = query_tokens(normalized)
    tiers = {
        EXACT: _term("key", name_query(normalized)),
        NAME: _word_match(tokens),
        TEXT: _text_match(tokens),
    }
    return _plan(SEARCH_BANDS, tiers, _relevance(tokens) + _filters(filters))
