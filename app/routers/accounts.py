"""Accounts API: who am I, tokens, organizations and memberships, users (admins).

Each write route calls one ``AccountService`` method (``registry.accounts``), which runs its
own write transaction, so it commits before the response is sent; the rules (only an
unrestricted token creates tokens, only org owners change an org) live in
``app/accounts/service.py``.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.accounts import service as accounts
from app.accounts.schemas import (
    MemberAdd,
    OrgCreate,
    OrgPublic,
    TokenCreate,
    TokenCreated,
    TokenPublic,
    UserCreate,
)
from app.core.clock import as_utc
from app.core.input_guards import RowId
from app.core.models import ApiToken
from app.deps import AdminDep, PrincipalDep, RegistryDep, SessionDep

router = APIRouter(prefix="/api/v1", tags=["accounts"])


def _token_public(row: ApiToken) -> TokenPublic:
    assert row.id is not None
    return TokenPublic(id=row.id, name=row.name, prefix=row.prefix, actions=row.actions,
                       packages=row.package_patterns, created_at=as_utc(row.created_at),
                       expires_at=as_utc(row.expires_at) if row.expires_at else None,
                       revoked_at=as_utc(row.revoked_at) if row.revoked_at else None)


@router.get("/whoami")
def whoami(principal: PrincipalDep) -> dict[str, object]:
    return {"name": principal.name, "admin": principal.is_admin,
            "security": principal.is_security, "actions": principal.actions,
            "packages": principal.package_patterns}


@router.post("/tokens", status_code=201, response_model=TokenCreated,
             summary="Create a token for yourself (the secret is shown once)")
def create_token(body: TokenCreate, principal: PrincipalDep,
                 registry: RegistryDep) -> TokenCreated:
    row, secret = registry.accounts.create_token(
        principal, name=body.name, actions=body.actions, packages=body.packages,
        expires_in=body.expires_in)
    return TokenCreated(token=secret, **_token_public(row).model_dump())


@router.get("/tokens", response_model=list[TokenPublic])
def list_tokens(principal: PrincipalDep, session: SessionDep) -> list[TokenPublic]:
    return [_token_public(t) for t in accounts.list_tokens(session, principal)]


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: RowId, principal: PrincipalDep, registry: RegistryDep) -> Response:
    registry.accounts.revoke_token(principal, token_id)
    return Response(status_code=204)


@router.post("/orgs", status_code=201)
def create_org(body: OrgCreate, principal: PrincipalDep,
               registry: RegistryDep) -> dict[str, str]:
    org = registry.accounts.create_org(principal, body.name)
    return {"name": org.name, "scope": f"@{org.name}"}


@router.get("/orgs", summary="Your organisations (administrators: all)")
def list_orgs(principal: PrincipalDep, session: SessionDep) -> list[OrgPublic]:
    return [OrgPublic(name=org.name, scope=f"@{org.name}", role=role, members=members)
            for org, role, members in accounts.list_orgs(session, principal)]


@router.post("/orgs/{org}/members", status_code=201)
def add_member(org: str, body: MemberAdd, principal: PrincipalDep,
               registry: RegistryDep) -> dict[str, str]:
    row = registry.accounts.add_member(principal, org, body.user, body.role)
    return {"org": org, "user": body.user, "role": row.role}


@router.delete("/orgs/{org}/members/{user}", status_code=204)
def remove_member(org: str, user: str, principal: PrincipalDep,
                  registry: RegistryDep) -> Response:
    registry.accounts.remove_member(principal, org, user)
    return Response(status_code=204)


@router.post("/users", status_code=201)
def create_user(body: UserCreate, admin: AdminDep,
                registry: RegistryDep) -> dict[str, object]:
    user = registry.accounts.create_user(admin, body.name, admin=body.admin,
                                         security=body.security)
    return {"name": user.name, "admin": user.is_admin, "security": user.is_security}
