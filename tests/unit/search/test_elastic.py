"""Elasticsearch backend specifics, over real HTTP against noida-db (see conftest)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from search.documents import PackageDocument as Doc
from search.elastic import ElasticsearchIndex, index_body
from search.errors import SearchError, SearchUnavailable
from tests.unit.search.noida import free_port


@pytest.fixture
def alias() -> str:
    return f"vouch-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def client(noida_url: str) -> Iterator[Elasticsearch]:
    with Elasticsearch(noida_url) as es:
        yield es


@pytest.fixture
def es_index(noida_url: str, alias: str, client: Elasticsearch) -> Iterator[ElasticsearchIndex]:
    index = ElasticsearchIndex(noida_url, alias=alias, refresh=True, max_retries=0)
    yield index
    index.close()
    if client.indices.exists_alias(name=alias):
        for name in client.indices.get_alias(name=alias).body:
            client.indices.delete(index=name)


@pytest.mark.timeout(20)
@pytest.mark.parametrize("retries", [0, 2])
def test_unreachable_cluster_raises_search_unavailable_quickly(retries: int):
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    index = ElasticsearchIndex(
        url, max_retries=retries, retry_backoff=0.01, retry_backoff_cap=0.05, request_timeout=2
    )
    for call in (
        lambda: index.suggest("req"),
        lambda: index.search("req"),
        lambda: index.upsert([Doc("x")]),
        lambda: index.delete("x"),
        lambda: index.update_downloads({"x": (1, 1)}),
        lambda: index.rebuild([Doc("x")]),
    ):
        with pytest.raises(SearchUnavailable) as caught:
            call()
        assert caught.value.code == "search_unavailable"
        assert url in str(caught.value)
    index.close()


def test_first_use_creates_an_index_behind_the_alias(es_index, client, alias):
    es_index.upsert([Doc("requests-oauthlib")])
    (concrete,) = client.indices.get_alias(name=alias).body
    settings = client.indices.get_settings(index=concrete).body[concrete]["settings"]
    tokenizer = settings["index"]["analysis"]["tokenizer"]["name_edge_ngram"]
    assert tokenizer["type"] == "edge_ngram"
    mapping = client.indices.get_mapping(index=concrete).body[concrete]["mappings"]
    name = mapping["properties"]["name"]
    assert (name["analyzer"], name["search_analyzer"]) == ("name_autocomplete", "standard")
    tokens = client.indices.analyze(
        index=concrete, analyzer="name_autocomplete", text="Requests-OAuthlib"
    ).body["tokens"]
    assert [t["token"] for t in tokens][:3] == ["r", "re", "req"]
    assert "oauthlib" in [t["token"] for t in tokens]


def test_rebuild_moves_the_alias_and_drops_the_old_index(es_index, client, alias):
    es_index.upsert([Doc("before")])
    (old,) = client.indices.get_alias(name=alias).body
    es_index.rebuild([Doc("after")])
    (new,) = client.indices.get_alias(name=alias).body
    assert new != old
    assert not client.indices.exists(index=old)
    assert [h.name for h in es_index.suggest("after")] == ["after"]


def test_two_handles_share_one_alias(noida_url, es_index, alias):
    es_index.upsert([Doc("shared")])
    other = ElasticsearchIndex(noida_url, alias=alias, refresh=True, max_retries=0)
    assert [h.name for h in other.suggest("sha")] == ["shared"]
    other.close()


def test_refused_requests_raise_search_error(es_index, client, alias):
    es_index.upsert([Doc("x")])
    (concrete,) = client.indices.get_alias(name=alias).body
    client.indices.delete(index=concrete)
    # a plain index squats the alias's name and refuses every field we send
    client.indices.create(index=alias, mappings={"dynamic": "strict", "properties": {}})
    with pytest.raises(SearchError) as caught:
        es_index.upsert([Doc("y")])
    assert not isinstance(caught.value, SearchUnavailable)
    client.indices.delete(index=alias)


def test_an_orphaned_initial_index_gets_its_alias_back(noida_url, client, alias, es_index):
    # a run that died after creating its index but before adding the alias
    client.indices.create(index=f"{alias}-initial", **index_body())
    es_index.upsert([Doc("revived")])
    assert list(client.indices.get_alias(name=alias).body) == [f"{alias}-initial"]
    assert [h.name for h in es_index.suggest("rev")] == ["revived"]
