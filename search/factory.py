"""Open a search backend by name.

    from search.factory import open_index

    index = open_index("embedded", path="var/search")
    index = open_index("elasticsearch", url="http://127.0.0.1:9200")

The caller (the app's config) decides which; this library never reads the environment.
"""

from __future__ import annotations

import os

from search.errors import InvalidSearchRequest
from search.protocol import SearchIndex

BACKENDS = ("embedded", "elasticsearch")


def open_index(
    backend: str,
    *,
    path: str | os.PathLike[str] | None = None,
    url: str | None = None,
) -> SearchIndex:
    """Build the named backend.

    ``embedded`` (alias ``tantivy``) needs ``path``; ``elasticsearch`` needs ``url``.
    Raises `InvalidSearchRequest` for an unknown backend or a missing argument, and
    `SearchUnavailable` when the embedded directory cannot be created or opened (the
    Elasticsearch backend connects lazily, on first use).
    """
    if backend in ("embedded", "tantivy"):
        if path is None:
            raise InvalidSearchRequest("path", "the embedded backend needs a directory")
        from search.embedded import EmbeddedIndex

        return EmbeddedIndex(path)
    if backend == "elasticsearch":
        if url is None:
            raise InvalidSearchRequest("url", "the elasticsearch backend needs a URL")
        from search.elastic import ElasticsearchIndex

        return ElasticsearchIndex(url)
    raise InvalidSearchRequest("backend", f"unknown backend {backend!r}; choose {BACKENDS}")
