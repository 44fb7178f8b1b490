"""Accounts API: who am I, tokens, organizations and memberships, users (admins).

Write routes open their own write transaction, so it commits before the response is sent.
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
from app.core.db import session_scope
from app.core.durations import parse_duration
from app.core.errors import MalformedInput
from app.core.input_guards import RowId
from app.core.models import ApiToken, User
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
    # A limited token must never mint a broader one (issue 9): unrestricted tokens only.
    accounts.require_unrestricted(principal, "creating tokens")
    try:
        expires = parse_duration(body.expires_in) if body.expires_in else None
    except ValueError as err:
        raise MalformedInput(str(err)) from err
    with session_scope(registry.engine, write=True) as session:
        user = session.get(User, principal.user_id)
        assert user is not None
        row, secret = accounts.create_token(
            session, user, now=registry.clock.now(), name=body.name, actions=body.actions,
            packages=body.packages, expires_in=expires)
    return TokenCreated(token=secret, **_token_public(row).model_dump())


@router.get("/tokens", response_model=list[TokenPublic])
def list_tokens(principal: PrincipalDep, session: SessionDep) -> list[TokenPublic]:
    return [_token_public(t) for t in accounts.list_tokens(session, principal)]


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: RowId, principal: PrincipalDep, registry: RegistryDep) -> Response:
    with session_scope(registry.engine, write=True) as session:
        accounts.revoke_token(session, principal, token_id, now=registry.clock.now())
    return Response(status_code=204)


@router.post("/orgs", status_code=201)
def create_org(body: OrgCreate, principal: PrincipalDep,
               registry: RegistryDep) -> dict[str, str]:
    with session_scope(registry.engine, write=True) as session:
        org = accounts.create_org(session, body.name, principal, now=registry.clock.now())
    return {"name": org.name, "scope": f"@{org.name}"}


@router.get("/orgs", summary="Your organisations (administrators: all)")
def list_orgs(principal: PrincipalDep, session: SessionDep) -> list[OrgPublic]:
    return [OrgPublic(name=org.name, scope=f"@{org.name}", role=role, members=members)
            for org, role, members in accounts.list_orgs(session, principal)]


@router.post("/orgs/{org}/members", status_code=201)
def add_member(org: str, body: MemberAdd, principal: PrincipalDep,
               registry: RegistryDep) -> dict[str, str]:
    with session_scope(registry.engine, write=True) as session:
        row = accounts.add_member(session, accounts.get_org(session, org),
                                  accounts.get_user(session, body.user), body.role, principal,
                                  now=registry.clock.now())
    return {"org": org, "user": body.user, "role": row.role}


@router.delete("/orgs/{org}/members/{user}", status_code=204)
def remove_member(org: str, user: str, principal: PrincipalDep,
                  registry: RegistryDep) -> Response:
    with session_scope(registry.engine, write=True) as session:
        accounts.remove_member(session, accounts.get_org(session, org),
                               accounts.get_user(session, user), principal,
                               now=registry.clock.now())
    return Response(status_code=204)


@router.post("/users", status_code=201)
def create_user(body: UserCreate, admin: AdminDep,
                registry: RegistryDep) -> dict[str, object]:
    with session_scope(registry.engine, write=True) as session:
        user = accounts.create_user(session, body.name, now=registry.clock.now(),
                                    actor=admin.name, admin=body.admin, security=body.security)
    return {"name": user.name, "admin": user.is_admin, "security": user.is_security}
