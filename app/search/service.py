"""The search API's actions over the configured index, with its errors mapped.

    finder = SearchService(index)                        # built by Registry.build
    finder.search("pad", page=1, size=20, scope=None, keyword=None)   # SearchResults
    finder.suggest("le", limit=10)                       # Suggestions

Failures (``errors.from_library``): a query or filter the backend refuses -> 400
``malformed_input``; the backend cannot answer -> 503 ``service_unavailable``.
"""

from __future__ import annotations

from app.search.errors import from_library
from app.search.schemas import SearchHitPublic, SearchResults, Suggestions
from search import Hit, InvalidSearchRequest, SearchFilters, SearchIndex, SearchUnavailable


def hit_public(hit: Hit) -> SearchHitPublic:
    return SearchHitPublic(
        name=hit.name, format=hit.ecosystem, scope=hit.scope, description=hit.description,
        keywords=list(hit.keywords), latest_version=hit.latest_version,
        downloads=hit.downloads_total, downloads_recent=hit.downloads_recent,
        deprecated=hit.deprecated, quarantined=hit.quarantined,
        has_advisories=hit.has_advisories, verified_publisher=hit.verified_publisher,
        match=hit.match)


class SearchService:
    def __init__(self, index: SearchIndex) -> None:
        self.index = index

    def search(self, q: str, *, page: int, size: int, scope: str | None,
               keyword: str | None) -> SearchResults:
        """Ranked search: exact name first, then name, then text matches."""
        try:
            result = self.index.search(q, page=page, size=size,
                                       filters=SearchFilters(scope=scope, keyword=keyword))
        except (InvalidSearchRequest, SearchUnavailable) as err:
            raise from_library(err) from err
        return SearchResults(results=[hit_public(h) for h in result.results],
                             total=result.total, page=page, size=size)

    def suggest(self, q: str, *, limit: int) -> Suggestions:
        """Autocomplete; an empty (or blank) query suggests nothing."""
        try:
            hits = self.index.suggest(q, limit=limit) if q.strip() else []
        except (InvalidSearchRequest, SearchUnavailable) as err:
            raise from_library(err) from err
        return Suggestions(suggestions=[hit_public(h) for h in hits])
