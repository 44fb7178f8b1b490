"""One rule for presented tokens: a bearer token that is not valid is refused everywhere.

    app.add_middleware(TokenGate, tokens=TokenLookup(engine, clock))   # inside RequestGuard

A request that carries ``Authorization: Bearer ...`` whose token is malformed, unknown,
revoked, expired or of a disabled account gets 401 ``invalid_token`` on every endpoint, public
reads included (the fast download path and cached reads sit inside this gate), so a stale
``VOUCH_TOKEN`` is noticed instead of silently read past on some endpoints and refused on
others; the client retries public reads without it and says how to fix it. A request without
the header is untouched (anonymous reads cost nothing here). A valid token's principal is kept
in the request state, so the routes' ``optional_principal`` does not look it up again. The
lookup is ``TokenLookup``'s: on the event loop, with no thread hop. When the
database cannot answer it: 503 ``database_unavailable`` (fail closed). Other schemes
(``Basic ...``) are left to the routes that need a token (401 ``not_authenticated``).
"""

from __future__ import annotations

from sqlalchemy import exc as sa_exc
from starlette.types import ASGIApp, Receive, Scope, Send

from app.accounts.token_lookup import TokenLookup
from app.core.db_errors import database_outage
from app.core.errors import DatabaseUnavailable, DomainError
from app.core.problems import domain_problem

STATE_KEY = "principal"


def presented_bearer(scope: Scope) -> str | None:
    """The bearer secret of the request, if its Authorization header uses that scheme."""
    for key, value in scope.get("headers", ()):
        if key == b"authorization":
            scheme, _, secret = str(value.decode("latin-1")).partition(" ")
            if scheme.lower() == "bearer" and secret.strip():
                return secret.strip()
            return None
    return None


class TokenGate:
    def __init__(self, app: ASGIApp, *, tokens: TokenLookup) -> None:
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        secret = presented_bearer(scope) if scope["type"] == "http" else None
        if secret is None:
            await self.app(scope, receive, send)
            return
        try:
            principal = await self.tokens.principal(secret)
        except DomainError as err:
            await domain_problem(err)(scope, receive, send)
            return
        except (sa_exc.DBAPIError, sa_exc.TimeoutError) as err:
            outage = database_outage(err) or DatabaseUnavailable()
            await domain_problem(outage)(scope, receive, send)
            return
        scope.setdefault("state", {})[STATE_KEY] = principal
        await self.app(scope, receive, send)
