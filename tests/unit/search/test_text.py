"""Query normalization shared by both backends."""

from __future__ import annotations

from search.text import (
    MAX_QUERY_CHARS,
    MAX_QUERY_TOKENS,
    edge_grams,
    gram,
    name_query,
    name_variants,
    name_words,
    normalize_query,
    query_tokens,
)


def test_normalize_query_folds_case_width_and_length():
    assert normalize_query("  Requests ") == "requests"
    assert normalize_query("\uff32\uff25\uff31") == "req"  # full-width letters (NFKC)
    assert len(normalize_query("a" * 10_000)) == MAX_QUERY_CHARS


def test_query_tokens_are_plain_words_only():
    assert query_tokens('name:"re*q" AND (x || y)^2~') == ["name", "re", "q", "and", "x", "y", "2"]
    assert query_tokens("@acme/http_client.v2") == ["acme", "http", "client", "v2"]
    assert query_tokens("a a a b") == ["a", "b"]
    assert len(query_tokens(" ".join(f"w{i}" for i in range(100)))) == MAX_QUERY_TOKENS
    assert query_tokens("crème brûlée 日本語") == ["crème", "brûlée", "日本語"]


def test_name_query_drops_characters_no_name_has():
    assert name_query('"req*"') == "req"
    assert name_query("@acme/foo-bar_baz.x") == "@acme/foo-bar_baz.x"
    assert name_query("foo bar") == "foo bar"


def test_names_split_into_words_and_variants():
    assert name_words("@Acme/http_client.v2-x") == ["acme", "http", "client", "v2", "x"]
    assert name_variants("@Acme/Foo") == ["@acme/foo", "acme/foo", "foo"]
    assert name_variants("foo") == ["foo"]


def test_edge_grams_and_gram_cut():
    assert edge_grams("http", 20) == ["h", "ht", "htt", "http"]
    assert edge_grams("abcdef", 3) == ["a", "ab", "abc"]
    assert gram("x" * 30) == "x" * 20
