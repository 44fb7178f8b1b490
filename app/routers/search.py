"""Search API: ranked full-text search and autocomplete (fast enough for every keystroke).

Each route calls one ``SearchService`` method (``registry.finder``, ``app/search/service.py``),
which maps the search library's errors and answers a wire model of ``app/search/schemas.py``.
"""

from __future__ import annotations

from fastapi import APIRouter, Query

from app.deps import RegistryDep
from app.search.schemas import SearchResults, Suggestions

router = APIRouter(prefix="/api/v1/search", tags=["search"])


@router.get("", response_model=SearchResults,
            summary="Ranked search: exact name first, then name, then text matches")
def search(registry: RegistryDep, q: str = Query(default="", max_length=200),
           page: int = Query(default=1, ge=1), size: int = Query(default=20, ge=1, le=100),
           scope: str | None = None, keyword: str | None = None) -> SearchResults:
    return registry.finder.search(q, page=page, size=size, scope=scope, keyword=keyword)


@router.get("/suggest", response_model=Suggestions,
            summary="Autocomplete: exact name, then prefix by downloads")
def suggest(registry: RegistryDep, q: str = Query(default="", max_length=200),
            limit: int = Query(default=10, ge=1, le=50)) -> Suggestions:
    return registry.finder.suggest(q, limit=limit)
