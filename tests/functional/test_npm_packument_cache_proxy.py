"""The packument cache (app/npm/fast_packuments.py) and the npm upstream proxy (issue 17):
a proxied packument is never kept by the packument cache, whose read generations cover only
hosted packages. Writes that make a proxied document stale (an organisation reserving the
name, a purge, the proxy's own ``metadata_ttl``) do not raise the name's generation, so a
kept proxied document could be served after them; the proxy's page cache answers instead.
Real Verdaccio 6 upstream (the proxy tests' fixtures)."""

from __future__ import annotations

import httpx

from tests.conftest import Actors
from tests.functional.helpers import assert_problem
from tests.functional.test_proxy_npm import settings_overrides, upstream  # noqa: F401
from tests.support.server import RunningServer


def test_a_reservation_hides_a_proxied_packument_at_the_next_read(
        server: RunningServer, actors: Actors) -> None:
    url = server.url + "/npm/reserved-one"
    for _ in range(2):  # the second read would be the packument cache's
        first = httpx.get(url)
        assert first.status_code == 200 and first.headers["x-vouch-upstream"] == "verdaccio"
        assert set(first.json()["versions"]) == {"1.0.0"}
    alice = actors.client(actors.user("alice"))
    assert alice.post("/api/v1/orgs", json={"name": "acme"}).status_code == 201
    reserved = alice.post("/api/v1/orgs/acme/reservations", json={"name": "reserved-one"})
    assert reserved.status_code == 201, reserved.text
    assert_problem(httpx.get(url), 404, "package_not_found")
