"""Errors raised by the search library.

    from search.errors import SearchUnavailable

    try:
        index.search("requests")
    except SearchUnavailable as err:
        print(err.code, err)   # search_unavailable ...

Every class carries a stable, machine-readable ``code`` so the HTTP layer can map it to a
problem+json response without parsing messages.
"""

from __future__ import annotations


class SearchError(Exception):
    """Root of every error this library raises."""

    code = "search_error"


class SearchUnavailable(SearchError):
    """The backend cannot be reached or opened (cluster down, index directory unusable).

    ``backend`` names the backend ("embedded", "elasticsearch"), ``target`` says where it
    looked (a directory or a URL).
    """

    code = "search_unavailable"

    def __init__(self, backend: str, target: str, reason: str) -> None:
        self.backend = backend
        self.target = target
        self.reason = reason
        super().__init__(f"search backend {backend!r} at {target} is unavailable: {reason}")


class InvalidDocument(SearchError, ValueError):
    """A package document failed validation (``field`` says which one)."""

    code = "invalid_search_document"

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"invalid search document field {field!r}: {reason}")


class InvalidSearchRequest(SearchError, ValueError):
    """Paging or limits out of range (``parameter`` says which one)."""

    code = "invalid_search_request"

    def __init__(self, parameter: str, reason: str) -> None:
        self.parameter = parameter
        self.reason = reason
        super().__init__(f"invalid search parameter {parameter!r}: {reason}")
