"""JwksSource: the OIDC issuer's keys from a URL (cached with a TTL, refetched for an unknown
kid at most once a minute, the cached copy kept through an outage), discovery, and files."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from app.core.clock import ManualClock
from app.trust.oidc_exchange import JwksSource, JwksUnavailable

ISSUER = "https://issuer.example"
JWKS_URL = "https://issuer.example/.well-known/jwks"


class FakeIssuer:
    """Serves a JWKS whose key ids the test changes; counts requests; can go down."""

    def __init__(self) -> None:
        self.kids = ["k1"]
        self.requests: list[str] = []
        self.down = False

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request.url.path)
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(200, json={"issuer": ISSUER, "jwks_uri": JWKS_URL})
        return httpx.Response(200, json={"keys": [{"kty": "RSA", "kid": k} for k in self.kids]})

    def source(self, clock: ManualClock, url: str | None = JWKS_URL) -> JwksSource:
        return JwksSource(issuer=ISSUER, clock=clock, url=url,
                          transport=httpx.MockTransport(self.handler))


def _kids(source: JwksSource, kid: str | None) -> list[str]:
    return [k["kid"] for k in source.jwks_for(kid)["keys"]]


def test_keys_are_fetched_lazily_and_cached_for_the_ttl() -> None:
    issuer, clock = FakeIssuer(), ManualClock()
    source = issuer.source(clock)
    assert issuer.requests == []
    assert _kids(source, "k1") == ["k1"]
    clock.advance(timedelta(minutes=9))
    assert _kids(source, "k1") == ["k1"]
    assert len(issuer.requests) == 1
    issuer.kids = ["k2"]
    clock.advance(timedelta(minutes=1))
    assert _kids(source, "k2") == ["k2"]
    assert len(issuer.requests) == 2


def test_an_unknown_kid_refetches_at_most_once_a_minute() -> None:
    issuer, clock = FakeIssuer(), ManualClock()
    source = issuer.source(clock)
    source.jwks_for("k1")
    issuer.kids = ["k1", "rotated"]
    for _ in range(5):  # forged kids cannot make the registry hammer the issuer
        assert _kids(source, "rotated") == ["k1"]
    assert len(issuer.requests) == 1
    clock.advance(timedelta(seconds=60))
    assert _kids(source, "rotated") == ["k1", "rotated"]
    assert len(issuer.requests) == 2


def test_an_outage_keeps_the_cached_keys_but_fails_without_any() -> None:
    issuer, clock = FakeIssuer(), ManualClock()
    cold = issuer.source(clock)
    issuer.down = True
    with pytest.raises(JwksUnavailable) as failure:
        cold.jwks_for("k1")
    assert failure.value.code == "oidc_jwks_unavailable" and failure.value.status == 503
    issuer.down = False
    warm = issuer.source(clock)
    warm.jwks_for("k1")
    issuer.down = True
    clock.advance(timedelta(hours=1))
    assert _kids(warm, "k1") == ["k1"]


def test_the_jwks_uri_is_discovered_from_the_issuer() -> None:
    issuer, clock = FakeIssuer(), ManualClock()
    assert _kids(issuer.source(clock, url=None), "k1") == ["k1"]
    assert issuer.requests == ["/.well-known/openid-configuration", "/.well-known/jwks"]


def test_a_bad_file_fails_at_start_up(tmp_path: Path) -> None:
    clock = ManualClock()
    with pytest.raises(JwksUnavailable):
        JwksSource(issuer=ISSUER, clock=clock, file=tmp_path / "missing.json")
    not_jwks = tmp_path / "jwks.json"
    not_jwks.write_text(json.dumps({"keys": "nope"}))
    with pytest.raises(JwksUnavailable, match="not a JWKS"):
        JwksSource(issuer=ISSUER, clock=clock, file=not_jwks)
    not_jwks.write_text(json.dumps({"keys": [{"kty": "RSA", "kid": "f1"}]}))
    assert _kids(JwksSource(issuer=ISSUER, clock=clock, file=not_jwks), None) == ["f1"]
