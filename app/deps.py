"""FastAPI dependencies: the registry, the session, and the authenticated principal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session

from app.accounts.service import Principal, authenticate
from app.accounts.token_gate import STATE_KEY
from app.core.db import session_scope
from app.core.errors import Forbidden, NotAuthenticated, TokenScopeInsufficient
from app.registry import Registry

# Dependencies are async where they do no blocking work: every sync dependency costs a hop to
# the thread pool, and those hops dominated the latency of small reads.


async def get_registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


RegistryDep = Annotated[Registry, Depends(get_registry)]


async def get_session(registry: RegistryDep) -> AsyncIterator[Session]:
    """A read session for the route (which runs in the thread pool). Creating it does no I/O;
    closing a read transaction is a cheap COMMIT. Routes should call a service instead (which
    owns its transactions); only the routers listed in ``tests/unit/app/test_thin_routes.py``
    still take one."""
    with session_scope(registry.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def bearer_secret(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise NotAuthenticated("use Authorization: Bearer <token>")
    return secret.strip()


async def optional_principal(request: Request, registry: RegistryDep) -> Principal | None:
    secret = bearer_secret(request)
    if secret is None:
        return None
    checked = request.scope.get("state", {}).get(STATE_KEY)
    if isinstance(checked, Principal):  # looked up once by the TokenGate
        return checked

    def lookup() -> Principal:
        with session_scope(registry.engine) as session:
            return authenticate(session, secret, now=registry.clock.now())

    return await run_in_threadpool(lookup)


async def require_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise NotAuthenticated("this request needs an API token (Authorization: Bearer ...)")
    return principal


PrincipalDep = Annotated[Principal, Depends(require_principal)]
OptionalPrincipalDep = Annotated[Principal | None, Depends(optional_principal)]


async def require_admin(principal: PrincipalDep) -> Principal:
    """An administrator's token that allows the ``admin`` action and is not limited to some
    packages (a package-scoped token is never registry-wide)."""
    if not principal.is_admin:
        raise Forbidden("this needs an administrator's token")
    if not principal.can("admin") or principal.package_patterns:
        raise TokenScopeInsufficient("this needs an administrator's token without package "
                                     "patterns that allows the admin action")
    return principal


AdminDep = Annotated[Principal, Depends(require_admin)]
