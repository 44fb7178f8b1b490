"""The mapping of ``search`` library errors to the registry's problems (one place).

    try:
        result = index.search(q, page=1, size=20)       # as SearchService does
    except (InvalidSearchRequest, SearchUnavailable) as err:
        raise from_library(err) from err

``InvalidSearchRequest`` (a query or filter the backend refuses) -> 400 ``malformed_input``;
``SearchUnavailable`` (the backend cannot answer) -> 503 ``service_unavailable``. The web pages
render their own HTML for the same two cases (``app/web/routes.py``).
"""

from __future__ import annotations

from app.core.errors import DomainError, MalformedInput, ServiceUnavailable
from search import InvalidSearchRequest, SearchUnavailable


def from_library(err: InvalidSearchRequest | SearchUnavailable) -> DomainError:
    """The problem for a search library error."""
    if isinstance(err, InvalidSearchRequest):
        return MalformedInput(str(err))
    return ServiceUnavailable(f"search is unavailable: {err}")
