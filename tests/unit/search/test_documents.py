"""PackageDocument: validation, derived fields, plain-data round trip."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from search.documents import PackageDocument
from search.errors import InvalidDocument


def test_scope_is_derived_from_the_name():
    assert PackageDocument("@acme/foo").scope == "acme"
    assert PackageDocument("foo").scope is None
    assert PackageDocument("@acme/foo", scope="acme").scope == "acme"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "has space"}, "name"),
        ({"name": "x" * 215}, "name"),
        ({"name": "@acme"}, "name"),
        ({"name": "@/foo"}, "name"),
        ({"name": "@acme/foo", "scope": "other"}, "scope"),
        ({"name": "foo", "scope": "acme"}, "scope"),
        ({"name": "foo", "downloads_total": -1}, "downloads_total"),
        ({"name": "foo", "downloads_recent": True}, "downloads_recent"),
        ({"name": "foo", "keywords": "http"}, "keywords"),
        ({"name": "foo", "maintainers": [1]}, "maintainers"),
        ({"name": "foo", "keywords": ["k"] * 101}, "keywords"),
        ({"name": "foo", "description": "d" * 10_001}, "description"),
        ({"name": "foo", "updated_at": "yesterday"}, "updated_at"),
        ({"name": "foo", "updated_at": "2026-01-01T00:00:00"}, "updated_at"),
        ({"name": "foo", "downloads": 3}, "downloads"),
        ({"description": "no name"}, "name"),
    ],
)
def test_invalid_documents_name_the_field(data: dict, field: str):
    with pytest.raises(InvalidDocument) as caught:
        PackageDocument.from_dict(data)
    assert caught.value.field == field
    assert caught.value.code == "invalid_search_document"


def test_round_trip_through_plain_data():
    doc = PackageDocument(
        "@acme/Foo", description="d", keywords=("a",), maintainers=("m",), latest_version="1.0",
        downloads_total=5, downloads_recent=1, deprecated=True, has_advisories=True,
        updated_at=datetime(2026, 5, 1, tzinfo=UTC),
    )
    data = doc.to_dict()
    assert data["keywords"] == ["a"] and data["updated_at"] == "2026-05-01T00:00:00+00:00"
    assert PackageDocument.from_dict(data) == doc
    assert doc.key == "@acme/foo"
    assert doc.demoted


def test_lists_become_tuples_so_documents_stay_hashable():
    doc = PackageDocument.from_dict({"name": "x", "keywords": ["a", "b"]})
    assert doc.keywords == ("a", "b")
    assert hash(doc) == hash(PackageDocument("x", keywords=("a", "b")))
