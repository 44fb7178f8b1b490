"""The Elasticsearch backend, built on the official ``elasticsearch`` 9.x client.

    from search.elastic import ElasticsearchIndex

    index = ElasticsearchIndex("http://127.0.0.1:9200", alias="vouch-packages")
    index.upsert(docs)
    index.suggest("req")

Readers and writers address the alias ``alias``; the concrete index behind it is
``<alias>-initial`` at first and ``<alias>-<ns>`` after each `rebuild`, which fills a fresh
index with bulk requests and then moves the alias in one atomic ``_aliases`` call, so searches
never see a half-built index. Writes that arrive during a rebuild land in the old index and
are lost at the swap: run rebuilds from the single worker, which replays its queue after.

Transport errors (connection refused, timeouts, 429/502/503/504) are retried by the client
with full-jitter exponential backoff (``max_retries``, ``retry_backoff``), then raised as
`search.errors.SearchUnavailable`; other API errors raise `search.errors.SearchError`.
The query bodies are built by the pure functions of `search.elastic_queries`, re-exported here.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import islice
from typing import Any, TypeVar

import elastic_transport
from elasticsearch import ApiError, Elasticsearch, NotFoundError, helpers

from search.documents import PackageDocument
from search.elastic_queries import (
    BAND_STEP,
    band_of,
    filter_clauses,
    from_source,
    index_body,
    search_body,
    suggest_body,
    to_source,
)
from search.errors import SearchError, SearchUnavailable
from search.protocol import (
    Hit,
    Progress,
    SearchFilters,
    SearchPage,
    check_counts,
    check_limit,
    check_paging,
)
from search.ranking import SEARCH_BANDS, SUGGEST_BANDS, Band
from search.text import normalize_query

__all__ = [
    "BAND_STEP",
    "ElasticsearchIndex",
    "filter_clauses",
    "index_body",
    "search_body",
    "suggest_body",
    "to_source",
]

_T = TypeVar("_T")
_UNAVAILABLE_STATUS = (429, 502, 503, 504)
_BATCH = 500


class ElasticsearchIndex:
    """A `search.protocol.SearchIndex` on an Elasticsearch cluster (8.x/9.x API).

    ``refresh`` makes every write visible to the next search (tests, small registries);
    leave it off in production, where the index refreshes every second.
    ``client`` replaces the client built from ``url`` (its retry settings then apply).
    """

    def __init__(
        self,
        url: str,
        *,
        alias: str = "vouch-packages",
        request_timeout: float = 10.0,
        max_retries: int = 3,
        retry_backoff: float = 0.5,
        retry_backoff_cap: float = 10.0,
        refresh: bool = False,
        shards: int = 1,
        client: Elasticsearch | None = None,
    ) -> None:
        self._url = url
        self._alias = alias
        self._refresh = refresh
        self._shards = shards
        self._ready = False
        self._lock = threading.Lock()
        self._client = client or Elasticsearch(
            url,
            request_timeout=request_timeout,
            max_retries=max_retries,
            retry_on_timeout=True,
            retry_on_status=_UNAVAILABLE_STATUS,
            retry_backoff_base=retry_backoff,
            retry_backoff_cap=retry_backoff_cap,
        )

    # ----------------------------------------------------------------- reads

    def suggest(self, prefix: str, limit: int = 10) -> list[Hit]:
        check_limit(limit)
        normalized = normalize_query(prefix)
        if not normalized:
            return []
        body = suggest_body(normalized, limit)
        self._ensure_alias()
        response = self._call(lambda: self._client.search(index=self._alias, **body))
        return [self._hit(h, SUGGEST_BANDS) for h in response["hits"]["hits"]]

    def search(
        self, query: str, page: int = 1, size: int = 20, filters: SearchFilters | None = None
    ) -> SearchPage:
        offset = check_paging(page, size)
        normalized = normalize_query(query)
        if not normalized:
            return SearchPage(results=[], total=0)
        body = search_body(normalized, offset, size, filters)
        self._ensure_alias()
        response = self._call(lambda: self._client.search(index=self._alias, **body))
        hits = [self._hit(h, SEARCH_BANDS) for h in response["hits"]["hits"]]
        return SearchPage(results=hits, total=int(response["hits"]["total"]["value"]))

    @staticmethod
    def _hit(raw: Mapping[str, Any], bands: tuple[Band, ...]) -> Hit:
        score = raw.get("_score")
        if score is None:
            score = raw["sort"][0]
        band, inner = band_of(float(score), bands)
        return Hit.of(from_source(raw["_source"]), score=inner, match=band.tier)

    # ---------------------------------------------------------------- writes

    def upsert(self, docs: Iterable[PackageDocument]) -> None:
        actions = [
            {"_op_type": "index", "_index": self._alias, "_id": d.ident, "_source": to_source(d)}
            for d in docs
        ]
        if actions:
            self._bulk(actions)

    def delete(self, ident: str) -> None:
        def run() -> None:
            with contextlib.suppress(NotFoundError):  # deleting what is not there is fine
                self._client.delete(index=self._alias, id=ident.lower(), refresh=self._refresh)

        self._ensure_alias()
        self._call(run)

    def update_downloads(self, counts: Mapping[str, tuple[int, int]]) -> None:
        check_counts(counts)
        actions = [
            {
                "_op_type": "update",
                "_index": self._alias,
                "_id": ident.lower(),
                "doc": {"downloads_total": total, "downloads_recent": recent},
            }
            for ident, (total, recent) in counts.items()
        ]
        if actions:
            self._bulk(actions, missing_ok=True)

    def clear(self) -> None:
        self.rebuild([])

    def rebuild(self, docs: Iterable[PackageDocument], progress: Progress | None = None) -> int:
        self._ensure_alias()
        fresh = f"{self._alias}-{time.time_ns()}"
        self._call(lambda: self._client.indices.create(index=fresh, **index_body(self._shards)))
        try:
            count = 0
            for chunk in _chunks(docs, _BATCH):
                seen = {d.ident: d for d in chunk}  # a later duplicate in a batch wins
                actions = [
                    {"_op_type": "index", "_index": fresh, "_id": k, "_source": to_source(d)}
                    for k, d in seen.items()
                ]
                self._bulk(actions, refresh=False)
                count += len(actions)
                if progress is not None:
                    progress(count)
            self._call(lambda: self._client.indices.refresh(index=fresh))
            self._swap_alias(fresh)
        except BaseException:
            with contextlib.suppress(SearchError):  # keep the original error
                self._drop(fresh)
            raise
        if progress is not None and count == 0:
            progress(0)
        return self._call(lambda: int(self._client.count(index=self._alias)["count"]))

    def close(self) -> None:
        self._client.close()

    # ------------------------------------------------------------- internals

    def _swap_alias(self, fresh: str) -> None:
        old = list(self._call(lambda: self._client.indices.get_alias(name=self._alias)).body)
        actions: list[Mapping[str, Any]] = [
            {"remove": {"index": name, "alias": self._alias}} for name in old
        ]
        actions.append({"add": {"index": fresh, "alias": self._alias}})
        self._call(lambda: self._client.indices.update_aliases(actions=actions))
        for name in old:
            self._drop(name)

    def _drop(self, name: str) -> None:
        self._call(lambda: self._client.indices.delete(index=name, ignore_unavailable=True))

    def _bulk(
        self,
        actions: list[dict[str, Any]],
        *,
        missing_ok: bool = False,
        refresh: bool | None = None,
    ) -> None:
        self._ensure_alias()
        _, errors = self._call(
            lambda: helpers.bulk(
                self._client,
                actions,
                refresh=self._refresh if refresh is None else refresh,
                raise_on_error=False,
                stats_only=False,
            )
        )
        failures = [
            item
            for item in errors  # type: ignore[union-attr]
            if not (missing_ok and next(iter(item.values())).get("status") == 404)
        ]
        if failures:
            raise SearchError(f"{len(failures)} bulk actions failed, first: {failures[0]}")

    def _ensure_alias(self) -> None:
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            if not self._call(lambda: bool(self._client.indices.exists_alias(name=self._alias))):
                initial = f"{self._alias}-initial"
                try:
                    self._call(
                        lambda: self._client.indices.create(
                            index=initial, aliases={self._alias: {}}, **index_body(self._shards)
                        )
                    )
                except SearchError as err:
                    if "resource_already_exists" not in str(err):
                        raise
                    # another process created it first, or an earlier run died before the
                    # alias was added: (re)attach it, which is idempotent
                    self._call(
                        lambda: self._client.indices.put_alias(index=initial, name=self._alias)
                    )
            self._ready = True

    def _call(self, fn: Callable[[], _T]) -> _T:
        """Run one client call, mapping transport failures to `SearchUnavailable`."""
        try:
            return fn()
        except (elastic_transport.ConnectionError, elastic_transport.ConnectionTimeout) as err:
            raise SearchUnavailable("elasticsearch", self._url, _reason(err)) from err
        except ApiError as err:
            if err.status_code in _UNAVAILABLE_STATUS:
                raise SearchUnavailable("elasticsearch", self._url, _reason(err)) from err
            raise SearchError(f"elasticsearch refused the request: {_reason(err)}") from err


def _reason(err: Exception) -> str:
    if isinstance(err, ApiError):
        return f"HTTP {err.status_code} {err.error}: {err.info}"[:500]
    return f"{type(err).__name__}: {err}"[:500]


def _chunks(docs: Iterable[PackageDocument], size: int) -> Iterator[list[PackageDocument]]:
    it = iter(docs)
    while chunk := list(islice(it, size)):
        yield chunk
