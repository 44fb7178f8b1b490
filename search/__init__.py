"""Package search: one `SearchIndex` protocol, an embedded (tantivy) and an Elasticsearch backend.

    from search import PackageDocument, open_index

    index = open_index("embedded", path="var/search")
    index.upsert([PackageDocument(name="requests", description="HTTP", downloads_total=10)])
    index.suggest("req")[0].name          # "requests"
    index.search("http").total            # 1

This library never reads the environment and never imports the app; the app chooses the
backend and passes its path or URL.
"""

from search.documents import PackageDocument, document_id
from search.errors import InvalidDocument, InvalidSearchRequest, SearchError, SearchUnavailable
from search.factory import open_index
from search.protocol import Hit, SearchFilters, SearchIndex, SearchPage

__all__ = [
    "Hit",
    "InvalidDocument",
    "InvalidSearchRequest",
    "PackageDocument",
    "SearchError",
    "SearchFilters",
    "SearchIndex",
    "SearchPage",
    "SearchUnavailable",
    "document_id",
    "open_index",
]
