"""The contract every `SearchIndex` backend passes (parametrized by the ``index`` fixture)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from search.documents import PackageDocument as Doc
from search.errors import InvalidDocument, InvalidSearchRequest
from search.protocol import SearchFilters, SearchIndex


def names(hits: object) -> list[str]:
    return [h.name for h in hits]  # type: ignore[attr-defined]


def search_names(index: SearchIndex, query: str, **kwargs: object) -> list[str]:
    return names(index.search(query, **kwargs).results)  # type: ignore[arg-type]


SUGGEST_CORPUS = [
    Doc("req", downloads_total=1),
    Doc("requests", downloads_total=1_000),
    Doc("requests-mock", downloads_total=5_000),
    Doc("reqx", downloads_total=10),
    Doc("reqtest", downloads_total=100_000, deprecated=True),
    Doc("reqq", downloads_total=200_000, quarantined=True),
    Doc("my-requests", downloads_total=90_000),
    Doc("django_req.tools", downloads_total=50),
    Doc("unrelated", downloads_total=10**9, description="req req req"),
]


# ------------------------------------------------------------------ suggest


def test_suggest_exact_first_then_prefix_by_downloads_then_later_words(index: SearchIndex):
    index.upsert(SUGGEST_CORPUS)
    hits = index.suggest("req")
    assert names(hits) == [
        "req",  # exact, despite the fewest downloads
        "requests-mock", "requests", "reqx",  # starts with it, by downloads
        "reqq", "reqtest",  # quarantined/deprecated: after their healthy peers
        "my-requests", "django_req.tools",  # a later word starts with it
    ]
    assert [h.match for h in hits] == ["exact"] + ["prefix"] * 5 + ["word"] * 2


def test_suggest_marks_demoted_packages(index: SearchIndex):
    index.upsert(SUGGEST_CORPUS)
    by_name = {h.name: h for h in index.suggest("req")}
    assert by_name["reqtest"].deprecated and not by_name["reqtest"].quarantined
    assert by_name["reqq"].quarantined
    assert not by_name["requests"].deprecated


def test_exact_name_stays_first_even_when_deprecated(index: SearchIndex):
    index.upsert([Doc("left-pad", deprecated=True), Doc("left-pad-plus", downloads_total=10**6)])
    hits = index.suggest("left-pad")
    assert names(hits) == ["left-pad", "left-pad-plus"]
    assert hits[0].deprecated and hits[0].match == "exact"
    assert search_names(index, "left-pad")[0] == "left-pad"


def test_suggest_from_the_first_characters_and_respects_limit(index: SearchIndex):
    index.upsert(SUGGEST_CORPUS)
    assert names(index.suggest("r", limit=3)) == ["requests-mock", "requests", "reqx"]
    assert names(index.suggest("re", limit=2)) == ["requests-mock", "requests"]
    assert index.suggest("") == []
    assert index.suggest("   ") == []
    with pytest.raises(InvalidSearchRequest):
        index.suggest("re", limit=0)


def test_suggest_is_case_insensitive(index: SearchIndex):
    index.upsert([Doc("PyYAML", downloads_total=3)])
    assert names(index.suggest("pyy")) == ["PyYAML"]
    assert index.suggest("PYYAML")[0].match == "exact"


def test_scoped_names(index: SearchIndex):
    index.upsert([
        Doc("@acme/foo", downloads_total=20),
        Doc("@acme/bar", downloads_total=30),
        Doc("@other/foo-cli", downloads_total=1),
        Doc("foo-utils", downloads_total=10),
        Doc("foobar", downloads_total=5),
    ])
    assert names(index.suggest("foo")) == [
        "@acme/foo", "foo-utils", "foobar", "@other/foo-cli"
    ]
    assert names(index.suggest("@acme/")) == ["@acme/bar", "@acme/foo"]
    assert names(index.suggest("@acme/f")) == ["@acme/foo"]
    assert names(index.suggest("acme")) == ["@acme/bar", "@acme/foo"]
    hits = index.suggest("@acme/foo")
    assert hits[0].name == "@acme/foo" and hits[0].match == "exact"
    assert hits[0].scope == "acme"
    assert search_names(index, "@acme/foo")[0] == "@acme/foo"


# ------------------------------------------------------------------- search


SEARCH_CORPUS = [
    Doc("http", downloads_total=3, description="Old helpers"),
    Doc("httpx", downloads_total=100, description="A next generation client"),
    Doc("http-client", downloads_total=5_000, description="Client"),
    Doc("old-http", downloads_total=10**7, deprecated=True, description="Legacy"),
    Doc("requests", downloads_total=10**6, description="HTTP for Humans"),
    Doc("urllib3", downloads_total=5 * 10**5, keywords=("http", "pool")),
    Doc("numpy", downloads_total=10**8, description="Arrays"),
]


def test_search_exact_then_name_then_text(index: SearchIndex):
    index.upsert(SEARCH_CORPUS)
    page = index.search("http")
    found = names(page.results)
    assert page.total == 6
    assert found[0] == "http"
    assert set(found[1:3]) == {"httpx", "http-client"}
    assert found[3] == "old-http"  # a name match, ranked down for being deprecated
    assert set(found[4:]) == {"requests", "urllib3"}
    assert [h.match for h in page.results] == ["exact", "name", "name", "name", "text", "text"]
    assert "numpy" not in found


def test_downloads_decide_between_equal_text_matches(index: SearchIndex):
    index.upsert([
        Doc("alpha-lib", downloads_total=10, description="a fast parser"),
        Doc("gamma-lib", downloads_total=10_000, description="a fast parser"),
        Doc("delta-lib", downloads_total=500, description="a fast parser"),
    ])
    assert search_names(index, "parser") == ["gamma-lib", "delta-lib", "alpha-lib"]
    assert search_names(index, "lib") == ["gamma-lib", "delta-lib", "alpha-lib"]


def test_every_query_word_must_match(index: SearchIndex):
    index.upsert(SEARCH_CORPUS)
    assert search_names(index, "http humans") == ["requests"]
    assert search_names(index, "http pool") == ["urllib3"]
    assert search_names(index, "http nothing-like-this") == []


def test_paging_and_total(index: SearchIndex):
    index.upsert([Doc(f"pkg-{i:02d}", downloads_total=i + 1) for i in range(25)])
    pages = [index.search("pkg", page=p, size=10) for p in (1, 2, 3, 4)]
    assert [p.total for p in pages] == [25, 25, 25, 25]
    assert [len(p.results) for p in pages] == [10, 10, 5, 0]
    listed = [n for p in pages for n in names(p.results)]
    assert listed == [f"pkg-{i:02d}" for i in range(24, -1, -1)]


def test_paging_across_bands(index: SearchIndex):
    index.upsert(SEARCH_CORPUS)
    whole = search_names(index, "http", size=100)
    pieces = [n for p in range(1, 4) for n in search_names(index, "http", page=p, size=2)]
    assert pieces == whole


@pytest.mark.parametrize(("page", "size"), [(0, 10), (1, 0), (1, 101), (10_001, 1)])
def test_bad_paging_is_refused(index: SearchIndex, page: int, size: int):
    with pytest.raises(InvalidSearchRequest):
        index.search("x", page=page, size=size)


def test_filters(index: SearchIndex):
    index.upsert([
        Doc("@acme/http-a", keywords=("HTTP",), maintainers=("alice",), verified_publisher=True),
        Doc("@zeta/http-b", keywords=("web",), maintainers=("Bob",), has_advisories=True),
        Doc("http-c", deprecated=True, maintainers=("alice",)),
        Doc("http-d", quarantined=True),
    ])

    def found(**filters: object) -> set[str]:
        page = index.search("http", filters=SearchFilters(**filters))  # type: ignore[arg-type]
        return set(names(page.results))

    assert found(scope="acme") == {"@acme/http-a"}
    assert found(scope="@zeta") == {"@zeta/http-b"}
    assert found(keyword="http") == {"@acme/http-a"}
    assert found(maintainer="bob") == {"@zeta/http-b"}
    assert found(maintainer="alice") == {"@acme/http-a", "http-c"}
    assert found(verified_publisher=True) == {"@acme/http-a"}
    assert found(has_advisories=True) == {"@zeta/http-b"}
    assert found(has_advisories=False) == {"@acme/http-a", "http-c", "http-d"}
    assert found(include_deprecated=False) == {"@acme/http-a", "@zeta/http-b", "http-d"}
    assert found(include_quarantined=False, include_deprecated=False) == {
        "@acme/http-a", "@zeta/http-b"
    }
    assert index.search("http", filters=SearchFilters(scope="acme")).total == 1


# ------------------------------------------------------- hostile input


HOSTILE = [
    '"', "'", '"unterminated', "a AND (b OR", "*", "?", "\\", "name:x", "{[]}^~", "' OR 1=1 --",
    "NEAR(a b)", "-", "--", "@", "/", "@/", "@acme/", "+req -x", "req*", "r~2", "a:b:c",
    "%00", "\x00", "\t\n", "<script>", "😀", "日本語", "Ǆ", "ﬁle", "a" * 300,
]


@pytest.mark.parametrize("query", HOSTILE)
def test_syntax_characters_and_odd_input_never_break(index: SearchIndex, query: str):
    index.upsert(SEARCH_CORPUS)
    assert isinstance(index.suggest(query), list)
    page = index.search(query)
    assert page.total >= len(page.results)


def test_syntax_characters_around_a_name_still_find_it(index: SearchIndex):
    index.upsert(SUGGEST_CORPUS)
    assert names(index.suggest("req*"))[:3] == ["req", "requests-mock", "requests"]
    assert names(index.suggest("REQUESTS!"))[:1] == ["requests"]
    assert "requests" in search_names(index, '"requests"')
    assert "requests" in search_names(index, "(requests)")
    assert search_names(index, "name:requests") == []  # "name" is a word that must match too


def test_unicode(index: SearchIndex):
    index.upsert([
        Doc("café-utils", description="Crème brûlée helpers", downloads_total=2),
        Doc("nihongo", description="日本語 テキスト", downloads_total=1),
    ])
    assert names(index.suggest("caf")) == ["café-utils"]
    assert names(index.suggest("CAFÉ")) == ["café-utils"]
    assert search_names(index, "crème") == ["café-utils"]
    assert search_names(index, "BRÛLÉE") == ["café-utils"]
    assert search_names(index, "café-utils") == ["café-utils"]


def test_very_long_queries(index: SearchIndex):
    index.upsert(SEARCH_CORPUS)
    assert index.suggest("x" * 100_000) == []
    assert index.search("y" * 100_000).results == []
    assert search_names(index, "requests " * 2_000) == ["requests"]
    long_name = "a" + "-b" * 100
    index.upsert([Doc(long_name)])
    assert names(index.suggest(long_name)) == [long_name]


# ------------------------------------------------------------- writes


def test_upsert_replaces(index: SearchIndex):
    index.upsert([Doc("widget", description="old words", latest_version="1.0")])
    index.upsert([Doc("Widget", description="new words", latest_version="2.0")])
    assert search_names(index, "old") == []
    hits = index.search("new").results
    assert names(hits) == ["Widget"] and hits[0].latest_version == "2.0"
    assert len(index.suggest("wid")) == 1


def test_hits_carry_every_document_field(index: SearchIndex):
    doc = Doc(
        "@acme/full", description="All fields", keywords=("a", "b"), maintainers=("m1", "m2"),
        latest_version="3.1.4", downloads_total=42, downloads_recent=7, deprecated=True,
        quarantined=False, has_advisories=True, verified_publisher=True,
        updated_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )
    index.upsert([doc])
    (hit,) = index.suggest("@acme/full")
    assert hit.document() == doc
    assert dataclasses.asdict(hit)["score"] == hit.score


def test_delete(index: SearchIndex):
    index.upsert(SUGGEST_CORPUS)
    index.delete("REQUESTS")
    index.delete("never-existed")
    assert "requests" not in names(index.suggest("req"))
    assert "requests" not in search_names(index, "requests")
    assert "requests-mock" in names(index.suggest("req"))


def test_update_downloads_reorders_and_ignores_unknown_names(index: SearchIndex):
    index.upsert(SUGGEST_CORPUS)
    index.update_downloads({"reqx": (10**7, 123), "Requests": (2, 1), "ghost": (5, 5)})
    hits = index.suggest("req")
    assert names(hits)[:4] == ["req", "reqx", "requests-mock", "requests"]
    reqx = hits[1]
    assert (reqx.downloads_total, reqx.downloads_recent) == (10**7, 123)
    assert reqx.description == "" and reqx.name == "reqx"
    assert "ghost" not in names(index.suggest("gh"))


@pytest.mark.parametrize("pair", [(-1, 0), (1,), (1.5, 2), (True, 1), "10"])
def test_bad_download_counts_are_refused(index: SearchIndex, pair: object):
    index.upsert([Doc("reqx", downloads_total=3)])
    with pytest.raises(InvalidDocument):
        index.update_downloads({"reqx": pair})  # type: ignore[dict-item]
    assert index.suggest("reqx")[0].downloads_total == 3


def test_rebuild_swaps_in_a_fresh_index(index: SearchIndex):
    index.upsert([Doc("old-one"), Doc("shared", description="before")])
    seen_during: list[list[str]] = []

    def fresh_docs() -> Iterator[Doc]:
        yield Doc("new-one", downloads_total=1)
        # half-way through the rebuild, readers still see the old index
        seen_during.append(names(index.suggest("old")) + names(index.suggest("new")))
        yield Doc("shared", description="after")

    progress: list[int] = []
    assert index.rebuild(fresh_docs(), progress.append) == 2
    assert seen_during == [["old-one"]]
    assert progress and progress[-1] == 2
    assert names(index.suggest("old")) == []
    assert names(index.suggest("new")) == ["new-one"]
    assert search_names(index, "after") == ["shared"]
    index.upsert([Doc("later")])  # writes go to the new index
    assert names(index.suggest("lat")) == ["later"]


def test_clear(index: SearchIndex):
    index.upsert(SUGGEST_CORPUS)
    index.clear()
    assert index.suggest("req") == []
    assert index.search("req").total == 0
    index.upsert([Doc("again")])
    assert names(index.suggest("ag")) == ["again"]


def test_empty_index_answers(index: SearchIndex):
    assert index.suggest("anything") == []
    assert index.search("anything") .total == 0


def test_one_name_in_several_formats_is_several_documents(index: SearchIndex):
    """Packages of every format share the index: identity is (ecosystem, name), name
    matches (exact, prefix, text) find each format's package, and deleting or counting the
    downloads of one leaves the other alone."""
    index.upsert([Doc("widget", description="native", downloads_total=5),
                  Doc("widget", ecosystem="pypi", description="python", downloads_total=9),
                  Doc("widget-extra", ecosystem="npm", description="js")])
    hits = index.suggest("widget")
    assert [(h.name, h.ecosystem, h.match) for h in hits] == [
        ("widget", "pypi", "exact"), ("widget", "generic", "exact"),
        ("widget-extra", "npm", "prefix")]
    page = index.search("widget")
    assert page.total == 3 and {(h.ecosystem, h.match) for h in page.results[:2]} == {
        ("pypi", "exact"), ("generic", "exact")}
    index.update_downloads({"pypi:widget": (1, 1), "widget": (50, 2)})
    assert [(h.ecosystem, h.downloads_total) for h in index.suggest("widget")][:2] == [
        ("generic", 50), ("pypi", 1)]
    index.delete("pypi:widget")
    assert [(h.name, h.ecosystem) for h in index.suggest("widget")] == [
        ("widget", "generic"), ("widget-extra", "npm")]
    index.delete("widget")
    assert [(h.name, h.ecosystem) for h in index.suggest("wid")] == [("widget-extra", "npm")]
    assert index.suggest("widget-extra")[0].document() == Doc(
        "widget-extra", ecosystem="npm", description="js")


@pytest.mark.parametrize("ecosystem", ["", "PyPI", "py-pi", "x" * 33])
def test_a_bad_ecosystem_is_refused(ecosystem: str):
    with pytest.raises(InvalidDocument):
        Doc("widget", ecosystem=ecosystem)


def test_document_identity():
    assert Doc("Left-Pad").ident == "left-pad"
    assert Doc("Foo", ecosystem="pypi").ident == "pypi:foo"
    assert Doc("@a/b", ecosystem="npm").ident == "npm:@a/b"
