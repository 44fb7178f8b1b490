"""The `SearchIndex` protocol every backend implements, and the values it returns.

    from search import open_index, PackageDocument

    index = open_index("embedded", path="var/search")
    index.upsert([PackageDocument(name="requests", downloads_total=10)])
    [hit.name for hit in index.suggest("req")]      # ["requests"]
    page = index.search("http", page=1, size=20)
    page.total, [hit.name for hit in page.results]

Ranking (identical on every backend, see `search.ranking`): suggest lists the exact name
first, then names starting with the prefix by downloads, then names with a later word
starting with it; search lists the exact name, then name matches, then description and
keyword matches, each by text relevance times log(2 + downloads). Deprecated and quarantined
packages come after their healthy peers in every tier (an exact match stays first) and keep
their flags on the `Hit`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol, runtime_checkable

from search.documents import PackageDocument
from search.errors import InvalidDocument, InvalidSearchRequest

MAX_PAGE_SIZE = 100
MAX_SUGGEST = 50
MAX_RESULT_WINDOW = 10_000  # page * size may not exceed this (Elasticsearch's default window)

#: ``progress(indexed_so_far)`` is called after each batch of a rebuild.
Progress = Callable[[int], None]


@dataclasses.dataclass(frozen=True, slots=True)
class Hit(PackageDocument):
    """A document as returned by a query, with its ``score`` and which tier it ``match``-ed.

    ``match`` is one of "exact", "prefix", "word" (suggest) or "exact", "name", "text"
    (search). ``score`` orders hits inside one tier of one response; its scale is the
    backend's own.
    """

    score: float = 0.0
    match: str = "exact"

    @classmethod
    def of(cls, doc: PackageDocument, *, score: float, match: str) -> Hit:
        fields = {f.name: getattr(doc, f.name) for f in dataclasses.fields(PackageDocument)}
        return cls(**fields, score=score, match=match)

    def document(self) -> PackageDocument:
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(PackageDocument)}
        return PackageDocument(**fields)


@dataclasses.dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of search results and the total number of matching packages."""

    results: list[Hit]
    total: int


@dataclasses.dataclass(frozen=True, slots=True)
class SearchFilters:
    """Narrow a search. ``None`` means "don't filter on this"."""

    scope: str | None = None
    keyword: str | None = None
    maintainer: str | None = None
    verified_publisher: bool | None = None
    has_advisories: bool | None = None
    include_deprecated: bool = True
    include_quarantined: bool = True


@runtime_checkable
class SearchIndex(Protocol):
    """A package search index. Every method may raise `search.errors.SearchUnavailable`."""

    def upsert(self, docs: Iterable[PackageDocument]) -> None:
        """Insert or replace documents (identity: ``PackageDocument.ident``)."""

    def delete(self, ident: str) -> None:
        """Remove a package by ``ident`` (``document_id(name, ecosystem)``; for a native
        package its name, any case); an identity not in the index is ignored."""

    def suggest(self, prefix: str, limit: int = 10) -> list[Hit]:
        """Autocomplete. Raises `InvalidSearchRequest` when ``limit`` is out of range."""

    def search(
        self, query: str, page: int = 1, size: int = 20, filters: SearchFilters | None = None
    ) -> SearchPage:
        """Ranked full-text search. Raises `InvalidSearchRequest` on bad paging."""

    def update_downloads(self, counts: Mapping[str, tuple[int, int]]) -> None:
        """Set ``ident -> (total, recent)`` download counts (``ident`` as for `delete`);
        unknown identities are ignored."""

    def rebuild(self, docs: Iterable[PackageDocument], progress: Progress | None = None) -> int:
        """Build a fresh index from ``docs`` and swap it in atomically; returns the count.

        Readers keep answering from the old index until the swap.
        """

    def clear(self) -> None:
        """Remove every document."""

    def close(self) -> None:
        """Release files, threads and connections."""


def check_paging(page: int, size: int) -> int:
    """Validate paging and return the offset of the first result."""
    if page < 1:
        raise InvalidSearchRequest("page", "must be 1 or more")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise InvalidSearchRequest("size", f"must be between 1 and {MAX_PAGE_SIZE}")
    if page * size > MAX_RESULT_WINDOW:
        raise InvalidSearchRequest("page", f"page * size may not exceed {MAX_RESULT_WINDOW}")
    return (page - 1) * size


def normalize_scope(scope: str | None) -> str | None:
    """A scope filter as indexed: lower-case, without a leading ``@`` or trailing ``/``."""
    return None if scope is None else scope.strip().lstrip("@").rstrip("/").lower()


def check_counts(counts: Mapping[str, tuple[int, int]]) -> None:
    """Refuse download counts that are not pairs of non-negative integers."""
    for name, pair in counts.items():
        if not (
            isinstance(pair, tuple)
            and len(pair) == 2
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in pair)
        ):
            raise InvalidDocument("downloads_total", f"bad download counts for {name!r}: {pair!r}")


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_SUGGEST:
        raise InvalidSearchRequest("limit", f"must be between 1 and {MAX_SUGGEST}")
