"""Users, organizations, memberships and API tokens.

    user = create_user(session, "alice", now=clock.now(), actor="admin")
    token, secret = create_token(session, user, now=clock.now())   # secret shown once
    principal = authenticate(session, secret, now=clock.now())

Failures: ``AlreadyExists`` (duplicate user/org/member), ``NotFound``, ``InvalidToken``
(unknown, expired or revoked token), ``InvalidName``.

``AccountService`` (built by ``Registry.build``) runs the accounts API's actions, one method
per route, each in its own transaction, answering the wire models of ``schemas``; the
functions above take the caller's session.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts import tokens
from app.accounts.schemas import (
    MemberPublic,
    OrgCreated,
    OrgPublic,
    TokenCreated,
    TokenPublic,
    UserPublic,
    WhoAmI,
)
from app.core import driver_sql
from app.core.clock import Clock, as_utc
from app.core.db import session_scope
from app.core.durations import parse_duration
from app.core.errors import (
    AlreadyExists,
    Forbidden,
    InvalidName,
    InvalidToken,
    MalformedInput,
    NotFound,
    TokenScopeInsufficient,
)
from app.core.models import ApiToken, Membership, Org, TrustedPublisher, User
from app.core.records import audit

_ACCOUNT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class Principal:
    """Who is calling, and what their credential allows."""

    name: str
    user_id: int | None
    is_admin: bool = False
    is_security: bool = False
    actions: list[str] = field(default_factory=list)
    package_patterns: list[str] = field(default_factory=list)
    trusted_publisher_id: int | None = None
    token_id: int | None = None

    def can(self, action: str) -> bool:
        return tokens.allows_action(self.actions, action)

    def covers(self, package: str) -> bool:
        return tokens.allows_package(self.package_patterns, package)

    @property
    def unrestricted(self) -> bool:
        """A user's token with no package patterns and no action limits (so not read-only),
        not one minted for a trusted publisher: the only kind that may change the account."""
        return (self.user_id is not None and self.trusted_publisher_id is None
                and tokens.is_unrestricted(self.actions, self.package_patterns))


def require_unrestricted(principal: Principal, what: str) -> None:
    """Account changes (tokens, keys, organizations, memberships, trust configuration) need
    an unrestricted token, so a limited token can never make itself a broader credential.
    Raises ``TokenScopeInsufficient`` (403)."""
    if not principal.unrestricted:
        raise TokenScopeInsufficient(
            f"{what} needs an unrestricted token of a user account (no package patterns, no "
            "action limits); this token is limited")


def _check_account_name(name: str) -> None:
    if not _ACCOUNT_NAME.match(name):
        raise InvalidName(
            "account and organization names are 1-64 characters of a-z, 0-9, '_' and '-'",
            name=name[:64],
        )


def create_user(
    session: Session, name: str, *, now: datetime, actor: str | None,
    admin: bool = False, security: bool = False,
) -> User:
    _check_account_name(name)
    user = User(name=name, is_admin=admin, is_security=security, created_at=now)
    session.add(user)
    try:
        session.flush()
    except IntegrityError as err:
        raise AlreadyExists(f"user {name} already exists", user=name) from err
    audit(session, at=now, actor=actor, action="user:create", user=name,
          admin=admin, security=security)
    return user


def get_user(session: Session, name: str) -> User:
    user = session.exec(select(User).where(User.name == name)).first()
    if user is None:
        raise NotFound(f"user {name} does not exist", user=name)
    return user


def create_token(
    session: Session, user: User, *, now: datetime, name: str = "",
    actions: list[str] | None = None, packages: list[str] | None = None,
    expires_in: timedelta | None = None, actor: str | None = None,
) -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns the row and the secret (never stored).

    No caller check here: the route requires an unrestricted token (``require_unrestricted``),
    and administrators' tooling creates tokens directly."""
    for action in actions or []:
        if action not in tokens.ACTIONS:
            raise MalformedInput(f"unknown token action {action!r}; one of {tokens.ACTIONS}")
    secret = tokens.new_secret()
    row = ApiToken(
        user_id=user.id, token_hash=tokens.hash_secret(secret),
        prefix=tokens.display_prefix(secret), name=name, actions=list(actions or []),
        package_patterns=list(packages or []), created_at=now,
        expires_at=now + expires_in if expires_in else None,
    )
    session.add(row)
    session.flush()
    audit(session, at=now, actor=actor or user.name, action="token:create", user=user.name,
          token_id=row.id, token_prefix=row.prefix, actions=row.actions,
          packages=row.package_patterns,
          expires_at=row.expires_at.isoformat() if row.expires_at else None)
    return row, secret


def mint_publisher_token(
    session: Session, publisher: TrustedPublisher, packages: list[str], *,
    now: datetime, lifetime: timedelta, claims: dict[str, str],
) -> tuple[ApiToken, str]:
    """A short-lived publish-only token bound to a trusted publisher (OIDC exchange)."""
    secret = tokens.new_secret()
    row = ApiToken(
        user_id=None, trusted_publisher_id=publisher.id,
        token_hash=tokens.hash_secret(secret), prefix=tokens.display_prefix(secret),
        name=f"oidc:{publisher.repository}", actions=["publish"], package_patterns=packages,
        created_at=now, expires_at=now + lifetime,
    )
    session.add(row)
    session.flush()
    audit(session, at=now, actor=f"github:{publisher.repository}", action="token:mint-oidc",
          token_id=row.id, publisher_id=publisher.id, packages=packages,
          workflow_ref=claims.get("job_workflow_ref", ""), ref=claims.get("ref", ""),
          sha=claims.get("sha", ""), expires_at=(now + lifetime).isoformat())
    return row, secret


def list_tokens(session: Session, principal: Principal) -> list[ApiToken]:
    """The caller's tokens; needs an unrestricted token (``TokenScopeInsufficient``)."""
    require_unrestricted(principal, "listing tokens")
    return list(session.exec(select(ApiToken).where(ApiToken.user_id == principal.user_id)
                             .order_by(col(ApiToken.id))))


def revoke_token(session: Session, principal: Principal, token_id: int, *, now: datetime) -> None:
    """Revoke one of the caller's tokens, or (an administrator) anyone's. Needs an unrestricted
    token (``TokenScopeInsufficient``); someone else's token is ``NotFound`` to non-admins."""
    require_unrestricted(principal, "revoking tokens")
    row = session.get(ApiToken, token_id)
    if row is None or (row.user_id != principal.user_id and not principal.is_admin):
        raise NotFound(f"token {token_id} does not exist", token_id=token_id)
    if row.revoked_at is None:
        row.revoked_at = now
        session.add(row)
        audit(session, at=now, actor=principal.name, action="token:revoke", token_id=token_id,
              token_prefix=row.prefix)


def authenticate(session: Session | Connection, secret: str, *, now: datetime) -> Principal:
    """Resolve a bearer secret to a ``Principal``; raises ``InvalidToken``.

    The lookup is by SHA-256 of the secret (the unique index on ``token_hash``), then the
    stored digest is compared again in constant time, so timing never reveals how much of a
    guessed digest matched. One statement reads the token and its account together (issue
    13): a revoked token, or a disabled account, fails on the very next request. ``session``
    may be a plain ``Connection`` (no ORM session needed). The token gate asks the same
    question on the event loop (``app.accounts.token_lookup``).
    """
    digest = token_digest(secret)
    return principal_of(driver_sql.first(session, TOKEN_LOOKUP, {"digest": digest}), digest,
                        now=now)


def token_digest(secret: str) -> str:
    """The stored form of a bearer secret (its SHA-256); ``InvalidToken`` when the secret is
    not a Vouch API token at all (nothing is looked up for it)."""
    if not secret.startswith(tokens.PREFIX) or len(secret) > 200:
        raise InvalidToken("the token is not a Vouch API token")
    return tokens.hash_secret(secret)


def principal_of(row: Any, digest: str, *, now: datetime) -> Principal:
    """The principal of the token row found for ``digest`` (the columns of
    ``TOKEN_LOOKUP``, by name; ``None`` when none was found). Raises ``InvalidToken`` when
    the token is unknown, revoked or expired, or its account is disabled."""
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        raise InvalidToken("the token is unknown")
    if row.revoked_at is not None:
        raise InvalidToken("the token was revoked")
    if row.expires_at is not None and as_utc(row.expires_at) <= now:
        raise InvalidToken("the token has expired")
    if row.user_id is None:
        return Principal(name=row.name, user_id=None, actions=row.actions,
                         package_patterns=row.package_patterns,
                         trusted_publisher_id=row.trusted_publisher_id, token_id=row.id)
    if row.user_name is None or row.disabled_at is not None:
        raise InvalidToken("the token's account is disabled")
    return Principal(name=row.user_name, user_id=row.user_id, is_admin=row.is_admin,
                     is_security=row.is_security, actions=row.actions,
                     package_patterns=row.package_patterns, token_id=row.id)


_TOKENS, _USERS = ApiToken.__table__, User.__table__  # type: ignore[attr-defined]
#: The token and its account in one indexed statement, built once (issue 13).
TOKEN_LOOKUP = (
    sa_select(_TOKENS.c.id, _TOKENS.c.token_hash, _TOKENS.c.user_id, _TOKENS.c.name,
              _TOKENS.c.actions, _TOKENS.c.package_patterns, _TOKENS.c.trusted_publisher_id,
              _TOKENS.c.revoked_at, _TOKENS.c.expires_at,
              _USERS.c.name.label("user_name"), _USERS.c.is_admin, _USERS.c.is_security,
              _USERS.c.disabled_at)
    .select_from(_TOKENS.outerjoin(_USERS, _USERS.c.id == _TOKENS.c.user_id))
    .where(_TOKENS.c.token_hash == bindparam("digest"))
)


def create_org(session: Session, name: str, owner: Principal, *, now: datetime) -> Org:
    _check_account_name(name)
    if owner.user_id is None:
        raise Forbidden("only user accounts can create organizations")
    require_unrestricted(owner, "creating an organization")
    org = Org(name=name, created_at=now)
    session.add(org)
    try:
        session.flush()
    except IntegrityError as err:
        raise AlreadyExists(f"organization {name} already exists", org=name) from err
    assert org.id is not None
    session.add(Membership(org_id=org.id, user_id=owner.user_id, role="owner", created_at=now))
    audit(session, at=now, actor=owner.name, action="org:create", org=name)
    audit(session, at=now, actor=owner.name, action="membership:add", org=name,
          user=owner.name, role="owner")
    return org


def list_orgs(session: Session, principal: Principal) -> list[tuple[Org, str | None, int]]:
    """The caller's organisations (administrators: all), by name, with the caller's role
    (None where an administrator is not a member) and the member count. A token minted for a
    trusted publisher belongs to no organisation: an empty list."""
    mine = {m.org_id: m.role for m in session.exec(
        select(Membership).where(Membership.user_id == principal.user_id))
            } if principal.user_id is not None else {}
    query = select(Org).order_by(col(Org.name))
    if not principal.is_admin:
        query = query.where(col(Org.id).in_(list(mine)))
    orgs = session.exec(query).all()
    counts: dict[int, int] = {}
    for org_id in session.exec(select(Membership.org_id).where(
            col(Membership.org_id).in_([o.id for o in orgs]))):
        counts[org_id] = counts.get(org_id, 0) + 1
    return [(o, mine.get(o.id or 0), counts.get(o.id or 0, 0)) for o in orgs]


def get_org(session: Session, name: str) -> Org:
    org = session.exec(select(Org).where(Org.name == name)).first()
    if org is None:
        raise NotFound(f"organization {name} does not exist", org=name)
    return org


def membership(session: Session, org: Org, user_id: int | None) -> Membership | None:
    if user_id is None:
        return None
    return session.exec(select(Membership).where(Membership.org_id == org.id,
                                                 Membership.user_id == user_id)).first()


def require_org_owner(session: Session, org: Org, principal: Principal) -> None:
    """Owners of ``org`` (or administrators), with an unrestricted token, may change it."""
    require_unrestricted(principal, f"changing the organization {org.name}")
    member = membership(session, org, principal.user_id)
    if not principal.is_admin and (member is None or member.role != "owner"):
        raise Forbidden(f"only owners of {org.name} can change it", org=org.name)


def add_member(
    session: Session, org: Org, user: User, role: str, principal: Principal, *, now: datetime
) -> Membership:
    require_org_owner(session, org, principal)
    assert org.id is not None and user.id is not None
    row = Membership(org_id=org.id, user_id=user.id, role=role, created_at=now)
    session.add(row)
    try:
        session.flush()
    except IntegrityError as err:
        raise AlreadyExists(f"{user.name} is already a member of {org.name}") from err
    audit(session, at=now, actor=principal.name, action="membership:add", org=org.name,
          user=user.name, role=role)
    return row


def remove_member(
    session: Session, org: Org, user: User, principal: Principal, *, now: datetime
) -> None:
    require_org_owner(session, org, principal)
    row = membership(session, org, user.id)
    if row is None:
        raise NotFound(f"{user.name} is not a member of {org.name}")
    session.delete(row)
    audit(session, at=now, actor=principal.name, action="membership:remove", org=org.name,
          user=user.name)


def is_scope_member(session: Session, scope: str, user_id: int | None) -> bool:
    """Whether ``user_id`` is a member of the org named ``scope`` (one indexed statement)."""
    if user_id is None:
        return False
    return driver_sql.first(session, _SCOPE_MEMBER,
                            {"scope": scope, "user_id": user_id}) is not None


_ORGS, _MEMBERSHIPS = Org.__table__, Membership.__table__  # type: ignore[attr-defined]
_SCOPE_MEMBER = (
    sa_select(_MEMBERSHIPS.c.id)
    .select_from(_MEMBERSHIPS.join(_ORGS, _ORGS.c.id == _MEMBERSHIPS.c.org_id))
    .where(_ORGS.c.name == bindparam("scope"), _MEMBERSHIPS.c.user_id == bindparam("user_id"))
    .limit(1)
)


def token_public(row: ApiToken) -> TokenPublic:
    """A token as the API shows it (never its secret or digest)."""
    assert row.id is not None
    return TokenPublic(id=row.id, name=row.name, prefix=row.prefix, actions=row.actions,
                       packages=row.package_patterns, created_at=as_utc(row.created_at),
                       expires_at=as_utc(row.expires_at) if row.expires_at else None,
                       revoked_at=as_utc(row.revoked_at) if row.revoked_at else None)


class AccountService:
    """The accounts API's actions, each in its own transaction (writes commit before the
    route answers), each answering a wire model of ``app.accounts.schemas``. Built once by
    ``Registry.build``; routes call one method each.

        accounts = AccountService(engine, clock)
        created = accounts.create_token(principal, name="ci", expires_in="30d")  # .token once

    Failures are the functions' above, plus ``TokenScopeInsufficient`` (a limited token asks
    for a token) and ``MalformedInput`` (an unparseable ``expires_in``)."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    @staticmethod
    def whoami(principal: Principal) -> WhoAmI:
        return WhoAmI(name=principal.name, admin=principal.is_admin,
                      security=principal.is_security, actions=principal.actions,
                      packages=principal.package_patterns)

    def create_token(self, principal: Principal, *, name: str = "",
                     actions: list[str] | None = None, packages: list[str] | None = None,
                     expires_in: str | None = None) -> TokenCreated:
        """A token for the caller; the secret is returned once."""
        # A limited token must never mint a broader one (issue 9): unrestricted tokens only.
        require_unrestricted(principal, "creating tokens")
        try:
            expires = parse_duration(expires_in) if expires_in else None
        except ValueError as err:
            raise MalformedInput(str(err)) from err
        with session_scope(self.engine, write=True) as session:
            user = session.get(User, principal.user_id)
            assert user is not None
            row, secret = create_token(session, user, now=self.clock.now(), name=name,
                                       actions=actions, packages=packages, expires_in=expires)
            return TokenCreated(token=secret, **token_public(row).model_dump())

    def list_tokens(self, principal: Principal) -> list[TokenPublic]:
        with session_scope(self.engine) as session:
            return [token_public(row) for row in list_tokens(session, principal)]

    def revoke_token(self, principal: Principal, token_id: int) -> None:
        with session_scope(self.engine, write=True) as session:
            revoke_token(session, principal, token_id, now=self.clock.now())

    def create_org(self, principal: Principal, name: str) -> OrgCreated:
        with session_scope(self.engine, write=True) as session:
            org = create_org(session, name, principal, now=self.clock.now())
            return OrgCreated(name=org.name, scope=f"@{org.name}")

    def list_orgs(self, principal: Principal) -> list[OrgPublic]:
        with session_scope(self.engine) as session:
            return [OrgPublic(name=org.name, scope=f"@{org.name}", role=role, members=members)
                    for org, role, members in list_orgs(session, principal)]

    def add_member(self, principal: Principal, org: str, user: str, role: str) -> MemberPublic:
        with session_scope(self.engine, write=True) as session:
            row = add_member(session, get_org(session, org), get_user(session, user), role,
                             principal, now=self.clock.now())
            return MemberPublic(org=org, user=user, role=row.role)

    def remove_member(self, principal: Principal, org: str, user: str) -> None:
        with session_scope(self.engine, write=True) as session:
            remove_member(session, get_org(session, org), get_user(session, user), principal,
                          now=self.clock.now())

    def create_user(self, actor: Principal, name: str, *, admin: bool,
                    security: bool) -> UserPublic:
        """An account (the route requires an administrator as ``actor``)."""
        with session_scope(self.engine, write=True) as session:
            user = create_user(session, name, now=self.clock.now(), actor=actor.name,
                               admin=admin, security=security)
            return UserPublic(name=user.name, admin=user.is_admin, security=user.is_security)
