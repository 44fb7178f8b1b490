"""Search API: ranked full-text search and autocomplete (fast enough for every keystroke)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from app.deps import RegistryDep
from app.search.errors import from_library
from search import Hit, InvalidSearchRequest, SearchFilters, SearchUnavailable

router = APIRouter(prefix="/api/v1/search", tags=["search"])


def _hit(hit: Hit) -> dict[str, Any]:
    return {
        "name": hit.name, "scope": hit.scope, "description": hit.description,
        "keywords": list(hit.keywords), "latest_version": hit.latest_version,
        "downloads": hit.downloads_total, "downloads_recent": hit.downloads_recent,
        "deprecated": hit.deprecated, "quarantined": hit.quarantined,
        "has_advisories": hit.has_advisories, "verified_publisher": hit.verified_publisher,
        "match": hit.match,
    }


@router.get("", summary="Ranked search: exact name first, then name, then text matches")
def search(registry: RegistryDep, q: str = Query(default="", max_length=200),
           page: int = Query(default=1, ge=1), size: int = Query(default=20, ge=1, le=100),
           scope: str | None = None, keyword: str | None = None) -> dict[str, Any]:
    try:
        result = registry.search.search(q, page=page, size=size,
                                        filters=SearchFilters(scope=scope, keyword=keyword))
    except (InvalidSearchRequest, SearchUnavailable) as err:
        raise from_library(err) from err
    return {"results": [_hit(h) for h in result.results], "total": result.total,
            "page": page, "size": size}


@router.get("/suggest", summary="Autocomplete: exact name, then prefix by downloads")
def suggest(registry: RegistryDep, q: str = Query(default="", max_length=200),
            limit: int = Query(default=10, ge=1, le=50)) -> dict[str, Any]:
    try:
        hits = registry.search.suggest(q, limit=limit) if q.strip() else []
    except (InvalidSearchRequest, SearchUnavailable) as err:
        raise from_library(err) from err
    return {"suggestions": [_hit(h) for h in hits]}
