"""FastAPI dependencies: the registry, the session, and the authenticated principal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from app.db import session_scope
from app.errors import Forbidden, NotAuthenticated
from app.registry import Registry
from app.services.accounts import Principal, authenticate


def get_registry(request: Request) -> Registry:
    registry: Registry = request.app.state.registry
    return registry


RegistryDep = Annotated[Registry, Depends(get_registry)]


def get_session(registry: RegistryDep) -> Iterator[Session]:
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


def optional_principal(request: Request, registry: RegistryDep) -> Principal | None:
    secret = bearer_secret(request)
    if secret is None:
        return None
    with session_scope(registry.engine) as session:
        return authenticate(session, secret, now=registry.clock.now())


def require_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise NotAuthenticated("this request needs an API token (Authorization: Bearer ...)")
    return principal


PrincipalDep = Annotated[Principal, Depends(require_principal)]
OptionalPrincipalDep = Annotated[Principal | None, Depends(optional_principal)]


def require_admin(principal: PrincipalDep) -> Principal:
    if not principal.is_admin or not principal.can("admin"):
        raise Forbidden("this needs an administrator's token")
    return principal


AdminDep = Annotated[Principal, Depends(require_admin)]
