"""Search's wire models: ranked results and autocomplete suggestions (never library types)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SearchHitPublic(BaseModel):
    name: str
    format: str = Field(description="the package's format: generic (native), pypi or npm")
    scope: str | None
    description: str
    keywords: list[str]
    latest_version: str | None
    downloads: int = Field(description="all-time downloads")
    downloads_recent: int
    deprecated: bool
    quarantined: bool
    has_advisories: bool
    verified_publisher: bool
    match: str = Field(description="which ranking tier matched: exact, name or text (search); "
                                   "exact, prefix or word (suggest)")


class SearchResults(BaseModel):
    results: list[SearchHitPublic]
    total: int
    page: int
    size: int


class Suggestions(BaseModel):
    suggestions: list[SearchHitPublic]
