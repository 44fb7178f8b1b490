"""Search over HTTP: index updates travel through the outbox; ranking; outage tolerance."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.search.sync import search_handlers
from search import open_index
from tests.conftest import Actors
from tests.functional.helpers import assert_problem, publish


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    # The test drives the outbox by hand (run_once) instead of a background thread.
    return {"run_worker": False}


def _drain(actors: Actors) -> None:
    registry = actors.server.registry
    registry.downloads.flush(search_now=True)
    while registry.worker.run_once():
        pass


def test_publish_reaches_search_through_the_outbox(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    for name, desc in [("http", "the exact one"), ("http-client", "a client for HTTP"),
                       ("fast-http", "speedy"), ("requests", "HTTP for humans")]:
        assert publish(alice, name, "1.0.0", name.encode(),
                       metadata={"description": desc}).status_code == 201
    assert alice.get("/api/v1/search", params={"q": "http"}).json()["total"] == 0
    _drain(actors)
    # downloads make http-client more popular than the exact name: exact still comes first
    for _ in range(5):
        alice.get("/api/v1/packages/http-client/versions/1.0.0/artifact")
    _drain(actors)
    results = alice.get("/api/v1/search", params={"q": "http"}).json()
    names = [r["name"] for r in results["results"]]
    assert names[0] == "http"
    assert names.index("http-client") < names.index("requests")
    assert results["total"] == 4
    suggestions = alice.get("/api/v1/search/suggest", params={"q": "htt"}).json()["suggestions"]
    assert [s["name"] for s in suggestions][:2] == ["http-client", "http"]
    exact = alice.get("/api/v1/search/suggest", params={"q": "http"}).json()["suggestions"]
    assert exact[0]["name"] == "http"
    assert next(s for s in exact if s["name"] == "http-client")["downloads"] == 5


def test_deprecation_and_unpublish_update_the_index(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "oldlib", "1.0.0").status_code == 201
    assert publish(alice, "gone", "1.0.0", b"gone").status_code == 201
    assert alice.put("/api/v1/packages/oldlib/versions/1.0.0/deprecation",
                     json={"message": "no"}).status_code == 200
    assert alice.delete("/api/v1/packages/gone/versions/1.0.0").status_code == 204
    _drain(actors)
    hit = alice.get("/api/v1/search", params={"q": "oldlib"}).json()["results"][0]
    assert hit["name"] == "oldlib" and hit["deprecated"] is True
    assert alice.get("/api/v1/search", params={"q": "gone"}).json()["total"] == 0


def test_search_outage_never_fails_a_publish_and_catches_up(actors: Actors) -> None:
    """A real Elasticsearch backend pointed at a closed port stands in for a cluster outage."""
    registry = actors.server.registry
    alice = actors.client(actors.user("alice"))
    embedded = registry.search
    down = open_index("elasticsearch", url="http://127.0.0.1:9")
    registry.search = registry.finder.index = down
    registry.worker.handlers = search_handlers(registry.engine, down)
    assert publish(alice, "resilient", "1.0.0").status_code == 201
    assert registry.worker.run_once() == 0 and registry.worker.pending() >= 1
    assert_problem(alice.get("/api/v1/search", params={"q": "x"}), 503, "service_unavailable")
    # The cluster comes back: the kept items are indexed once their backoff has passed.
    registry.search = registry.finder.index = embedded
    registry.worker.handlers = search_handlers(registry.engine, embedded)
    actors.server.clock.advance(timedelta(minutes=2))
    _drain(actors)
    names = [r["name"] for r in alice.get("/api/v1/search", params={"q": "resilient"})
             .json()["results"]]
    assert names == ["resilient"]
    down.close()


def test_bad_paging_is_a_problem(actors: Actors) -> None:
    client = actors.client()
    assert_problem(client.get("/api/v1/search", params={"q": "x", "size": 500}), 422,
                   "validation_error")
    assert client.get("/api/v1/search/suggest", params={"q": ""}).json() == {"suggestions": []}


def test_advisories_mark_search_results(actors: Actors) -> None:
    from tests.functional.test_advisories_fixtures import generic_advisory, security_client

    alice = actors.client(actors.user("alice"))
    assert publish(alice, "leaky", "1.0.0").status_code == 201
    _drain(actors)
    assert alice.get("/api/v1/search", params={"q": "leaky"}).json()["results"][0][
        "has_advisories"] is False
    sec = security_client(actors)
    draft = sec.post("/api/v1/advisories", json=generic_advisory("leaky")).json()
    assert sec.post(f"/api/v1/advisories/{draft['id']}/publish").status_code == 200
    _drain(actors)
    assert alice.get("/api/v1/search", params={"q": "leaky"}).json()["results"][0][
        "has_advisories"] is True
