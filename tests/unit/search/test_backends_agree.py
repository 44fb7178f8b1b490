"""Differential check: the embedded and Elasticsearch (noida-db) backends rank alike.

On a seeded synthetic corpus, autocomplete must list the same names in the same order, and
search must agree on totals and on the tier of every listed hit (inside a tier the text
scores of tantivy and Lucene differ slightly, so the order may too).
"""

from __future__ import annotations

from pathlib import Path

from search.elastic import ElasticsearchIndex
from search.embedded import EmbeddedIndex
from search.synthetic import make_synthetic_documents, search_queries, suggest_queries


def test_backends_agree_on_a_synthetic_corpus(tmp_path: Path, noida_url: str):
    docs = make_synthetic_documents(500, seed=21)
    embedded = EmbeddedIndex(tmp_path)
    elastic = ElasticsearchIndex(noida_url, alias="vouch-test-agree", refresh=True)
    embedded.rebuild(docs)
    elastic.rebuild(docs)
    try:
        for query in suggest_queries(docs, 60, seed=1):
            left = [(h.name, h.match) for h in embedded.suggest(query)]
            right = [(h.name, h.match) for h in elastic.suggest(query)]
            assert left == right, query
        for query in search_queries(docs, 60, seed=2):
            left_page, right_page = embedded.search(query), elastic.search(query)
            assert left_page.total == right_page.total, query
            assert [h.match for h in left_page.results] == [h.match for h in right_page.results]
    finally:
        elastic.clear()
        elastic.close()
