"""npm search's document shape."""

from datetime import UTC, datetime

from formats.npm.search import SearchEntry, search_document

NOW = datetime(2026, 1, 2, tzinfo=UTC)


def test_search_document():
    hit = SearchEntry("@acme/widget", "1.2.0", "a widget", ("ui",), NOW, ("alice",), 3.5)
    doc = search_document([hit], total=7, now=NOW, package_url=lambda n: f"http://h/npm/{n}")
    assert doc["total"] == 7 and doc["time"] == "Fri Jan 02 2026 00:00:00 GMT"
    (item,) = doc["objects"]
    assert item["package"] == {
        "name": "@acme/widget", "version": "1.2.0", "description": "a widget",
        "keywords": ["ui"], "links": {"npm": "http://h/npm/@acme/widget"},
        "publisher": {"username": "alice"}, "maintainers": [{"username": "alice"}],
        "date": "2026-01-02T00:00:00.000Z"}
    assert item["searchScore"] == item["score"]["final"] == 3.5


def test_no_maintainers_no_date():
    hit = SearchEntry("x", None, "", (), None, (), 0.0)
    (item,) = search_document([hit], total=1, now=NOW, package_url=str)["objects"]
    assert "date" not in item["package"] and item["package"]["version"] == ""
    assert item["package"]["publisher"] == {"username": ""}
