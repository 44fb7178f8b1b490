"""Fixtures for the search contract suite.

``index`` is a fresh, empty `SearchIndex` per test, parametrized over:

* ``embedded``: the tantivy backend in ``tmp_path`` (always);
* ``noida``: the Elasticsearch backend over real HTTP with the official 9.x client, against
  a noida-db server started once per test session (per xdist worker), one alias per test;
* ``elasticsearch``: the same against a real cluster, only when ``VOUCH_TEST_ELASTICSEARCH_URL``
  is set (the parameter is then added, never skipped).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from search.elastic import ElasticsearchIndex
from search.embedded import EmbeddedIndex
from search.protocol import SearchIndex
from tests.unit.search.noida import NoidaServer

REAL_ES_URL = os.environ.get("VOUCH_TEST_ELASTICSEARCH_URL")
BACKENDS = ["embedded", "noida"] + (["elasticsearch"] if REAL_ES_URL else [])


@pytest.fixture(scope="session")
def noida_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = NoidaServer.start(tmp_path_factory.mktemp("noida"))
    try:
        yield server.url
    finally:
        server.stop()


def _elastic(url: str) -> Iterator[ElasticsearchIndex]:
    alias = f"vouch-test-{uuid.uuid4().hex[:12]}"
    index = ElasticsearchIndex(url, alias=alias, refresh=True, max_retries=1, retry_backoff=0.05)
    try:
        yield index
    finally:
        index.close()
        with Elasticsearch(url) as client:  # drop the index this test left behind its alias
            if client.indices.exists_alias(name=alias):
                for name in client.indices.get_alias(name=alias).body:
                    client.indices.delete(index=name)


@pytest.fixture(params=BACKENDS)
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchIndex]:
    if request.param == "embedded":
        embedded = EmbeddedIndex(tmp_path / "search")
        yield embedded
        embedded.close()
    elif request.param == "noida":
        yield from _elastic(request.getfixturevalue("noida_url"))
    else:
        assert REAL_ES_URL is not None
        yield from _elastic(REAL_ES_URL)
