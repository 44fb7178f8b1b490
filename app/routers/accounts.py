"""Accounts API: who am I, tokens, organizations and memberships, users (admins).

Each route calls one ``AccountService`` method (``registry.accounts``), which runs its own
transaction (writes commit before the response is sent) and answers a wire model of
``app/accounts/schemas.py``; the rules (only an unrestricted token creates tokens, only org
owners change an org) live in ``app/accounts/service.py``.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.accounts.schemas import (
    MemberAdd,
    MemberPublic,
    OrgCreate,
    OrgCreated,
    OrgPublic,
    TokenCreate,
    TokenCreated,
    TokenPublic,
    UserCreate,
    UserPublic,
    WhoAmI,
)
from app.core.input_guards import RowId
from app.deps import AdminDep, PrincipalDep, RegistryDep

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.get("/whoami", response_model=WhoAmI)
def whoami(principal: PrincipalDep, registry: RegistryDep) -> WhoAmI:
    return registry.accounts.whoami(principal)


@router.post("/tokens", status_code=201, response_model=TokenCreated,
             summary="Create a token for yourself (the secret is shown once)")
def create_token(body: TokenCreate, principal: PrincipalDep,
                 registry: RegistryDep) -> TokenCreated:
    return registry.accounts.create_token(
        principal, name=body.name, actions=body.actions, packages=body.packages,
        expires_in=body.expires_in)


@router.get("/tokens", response_model=list[TokenPublic])
def list_tokens(principal: PrincipalDep, registry: RegistryDep) -> list[TokenPublic]:
    return registry.accounts.list_tokens(principal)


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: RowId, principal: PrincipalDep, registry: RegistryDep) -> Response:
    registry.accounts.revoke_token(principal, token_id)
    return Response(status_code=204)


@router.post("/orgs", status_code=201, response_model=OrgCreated)
def create_org(body: OrgCreate, principal: PrincipalDep, registry: RegistryDep) -> OrgCreated:
    return registry.accounts.create_org(principal, body.name)


@router.get("/orgs", response_model=list[OrgPublic],
            summary="Your organisations (administrators: all)")
def list_orgs(principal: PrincipalDep, registry: RegistryDep) -> list[OrgPublic]:
    return registry.accounts.list_orgs(principal)


@router.post("/orgs/{org}/members", status_code=201, response_model=MemberPublic)
def add_member(org: str, body: MemberAdd, principal: PrincipalDep,
               registry: RegistryDep) -> MemberPublic:
    return registry.accounts.add_member(principal, org, body.user, body.role)


@router.delete("/orgs/{org}/members/{user}", status_code=204)
def remove_member(org: str, user: str, principal: PrincipalDep,
                  registry: RegistryDep) -> Response:
    registry.accounts.remove_member(principal, org, user)
    return Response(status_code=204)


@router.post("/users", status_code=201, response_model=UserPublic)
def create_user(body: UserCreate, admin: AdminDep, registry: RegistryDep) -> UserPublic:
    return registry.accounts.create_user(admin, body.name, admin=body.admin,
                                         security=body.security)
