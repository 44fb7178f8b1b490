"""open_index picks a backend by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from search import InvalidSearchRequest, SearchIndex, open_index
from search.elastic import ElasticsearchIndex
from search.embedded import EmbeddedIndex


def test_embedded(tmp_path: Path):
    index = open_index("embedded", path=tmp_path)
    assert isinstance(index, EmbeddedIndex) and isinstance(index, SearchIndex)


def test_elasticsearch_connects_lazily():
    index = open_index("elasticsearch", url="http://127.0.0.1:9")
    assert isinstance(index, ElasticsearchIndex) and isinstance(index, SearchIndex)
    index.close()


@pytest.mark.parametrize(
    ("backend", "kwargs", "parameter"),
    [("embedded", {}, "path"), ("elasticsearch", {}, "url"), ("solr", {}, "backend")],
)
def test_bad_arguments(backend: str, kwargs: dict, parameter: str):
    with pytest.raises(InvalidSearchRequest) as caught:
        open_index(backend, **kwargs)
    assert caught.value.parameter == parameter
