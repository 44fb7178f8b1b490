"""npm's trusted-publishing exchange (npm >= 11.5.1 in GitHub Actions):
``POST /npm/-/npm/v1/oidc/token/exchange/package/{name}`` with ``Authorization: Bearer
<GitHub OIDC token>`` answers ``{"token": "<vouch publish token>"}``.

    app.add_middleware(NpmIdTokenHeader)       # outside TokenGate (app/main.py)
    exchange = NpmOidcExchange.build(registry)  # None unless VOUCH_NPM_OIDC_AUDIENCE is set
    exchange.exchange(id_token, "@acme/widget")

It is the registry's own exchange (``app.trust.oidc_exchange``: signature, issuer, expiry,
single use, ``pull_request_target`` refused, the trusted publishers you already have) with
npm's audience, ``npm:<registry hostname>``, which must be configured
(``VOUCH_NPM_OIDC_AUDIENCE``): taking it from the request's Host header would let a token
minted for another registry through. The minted token must cover the package in the path
(403 ``invalid_publisher`` otherwise), checked inside the exchange's transaction before
the token is minted: a refusal leaves no token and does not consume the OIDC token. npm
shows a failure's ``message`` only at ``--loglevel verbose``; the route puts the detail there.

The OIDC token arrives as a bearer token, which the token gate would refuse as a malformed
Vouch token: ``NpmIdTokenHeader`` moves it to ``x-vouch-npm-id-token`` for this one path.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.errors import NotFound
from app.trust.errors import InvalidPublisher
from app.trust.oidc_exchange import MintedToken, OidcExchange

# npm posts to the registry host's root (it resolves an absolute path against the registry
# URL), so the exchange is answered at the root as well as under /npm/.
EXCHANGE_PREFIXES = ("/-/npm/v1/oidc/token/exchange/package/",
                     "/npm/-/npm/v1/oidc/token/exchange/package/")
ID_TOKEN_HEADER = b"x-vouch-npm-id-token"


class NpmIdTokenHeader:
    """Moves the Authorization header of npm's exchange request out of the token gate's way."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(EXCHANGE_PREFIXES):
            headers = []
            for key, value in scope["headers"]:
                if key == b"authorization":
                    scheme, _, token = value.partition(b" ")
                    if scheme.lower() == b"bearer":
                        headers.append((ID_TOKEN_HEADER, token.strip()))
                        continue
                if key != ID_TOKEN_HEADER:
                    headers.append((key, value))
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)


class NpmOidcExchange:
    def __init__(self, exchange: OidcExchange) -> None:
        self.inner = exchange

    @classmethod
    def build(cls, registry: Any) -> NpmOidcExchange | None:
        audience = registry.settings.npm_oidc_audience
        shared = registry.oidc
        if not audience or shared is None:
            return None
        return cls(OidcExchange(engine=shared.engine, clock=shared.clock, jwks=shared.jwks,
                                audience=audience, issuer=shared.issuer,
                                lifetime=shared.lifetime))

    def exchange(self, id_token: str, name: str) -> MintedToken:
        """Raises the exchange's errors (401 ``invalid_token``, ``invalid_reuse_token``, 403
        ``invalid_publisher``, 503 ``oidc_jwks_unavailable``)."""
        def covered(packages: list[str]) -> None:  # checked before anything is written
            if not any(_covers(pattern, name) for pattern in packages):
                raise InvalidPublisher(f"no trusted publisher of {name} matches this workflow",
                                       package=name)

        return self.inner.mint(id_token, accept=covered)


def _covers(pattern: str, name: str) -> bool:
    return pattern == name or (pattern.endswith("/*") and name.startswith(pattern[:-1]))


def disabled() -> NotFound:
    return NotFound("npm trusted publishing is not enabled on this registry "
                    "(VOUCH_NPM_OIDC_AUDIENCE)")
