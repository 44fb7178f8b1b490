"""Who a trusted publisher acts for, now: pending publishers, their expiry, limits and claims.

    reason = why_not_acting(session, publisher, now)        # None: it may act
    rows = acting_publishers_for(session, "@acme/widget", now)
    claim_pending(session, package, actor="alice", now=now)  # right after a package is created

The rule (issue 9, after Warehouse; research/round2.md §1): a publisher only ever acts for
someone who could register it *now*. Its registrant must still own the package (be a listed
owner, or a member of the package's scope org), still be an owner of the org for an ``@scope``
publisher, and for a *pending* publisher (registered for a name that does not exist yet) still
be allowed to create the name, before the pending publisher's 30 days are up. The OIDC exchange,
the publish authorization and the Sigstore policy all ask this module, at the moment they act,
so a publisher whose registrant lost the package or left the org stops working at once.

Pending publishers reserve nothing: the package is created by its first successful publish, in
the transaction that records the first version, and the database's unique constraint on the
package name decides a race. That transaction calls `claim_pending`: pending publishers whose
registrant owns the new package become ordinary publishers; every other one is deleted, its
minted tokens revoked, with a ``trusted-publisher:pending-invalidated`` audit event. Expired
pending publishers are removed by `sweep_pending` (run on every registration) with a
``trusted-publisher:pending-expired`` event. A user holds at most `MAX_PENDING_PER_USER`
unexpired pending publishers (`TooManyPendingPublishers`, 409).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, delete, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.accounts import service as accounts
from app.accounts.service import Principal
from app.core.clock import as_utc
from app.core.errors import TooManyPendingPublishers
from app.core.models import ApiToken, Membership, Org, Package, TrustedPublisher, User
from app.core.records import audit
from app.publishing import packages as pkgs
from app.publishing.names import parse_package_name

PENDING_LIFETIME = timedelta(days=30)  # PyPI's PENDING_PUBLISHER_EXPIRY_DAYS
MAX_PENDING_PER_USER = 3  # PyPI's limit per user

# Statements built once (issue 13: a publish asks these on every Sigstore upload).
_PACKAGE_PUBLISHERS = (select(TrustedPublisher)
                       .where(TrustedPublisher.package_name == bindparam("name"))
                       .order_by(col(TrustedPublisher.id)))
_PUBLISHERS_BY_ID = select(TrustedPublisher).where(
    col(TrustedPublisher.id).in_(bindparam("ids", expanding=True)))
_ORG_ID = sa_select(col(Org.id)).where(col(Org.name) == bindparam("scope"))
_SCOPE_ORG_ID = _ORG_ID.scalar_subquery()
_SCOPED_PUBLISHERS = (select(TrustedPublisher)
                      .where(or_(col(TrustedPublisher.package_name) == bindparam("name"),
                                 col(TrustedPublisher.org_id) == _SCOPE_ORG_ID))
                      .order_by(col(TrustedPublisher.id)))
_USERS, _ORGS = User.__table__, Org.__table__  # type: ignore[attr-defined]
_MEMBERS = Membership.__table__  # type: ignore[attr-defined]
#: An org publisher's registrant (by name), its org (by id) and the registrant's role there.
_ORG_REGISTRANT = (
    sa_select(_USERS.c.is_admin, _USERS.c.disabled_at, _ORGS.c.name.label("org_name"),
              _MEMBERS.c.role)
    .select_from(_USERS.outerjoin(_ORGS, _ORGS.c.id == bindparam("org_id"))
                 .outerjoin(_MEMBERS, and_(_MEMBERS.c.org_id == _ORGS.c.id,
                                           _MEMBERS.c.user_id == _USERS.c.id)))
    .where(_USERS.c.name == bindparam("name"))
)


def registrant(session: Session, row: TrustedPublisher) -> User | None:
    """The active account that registered ``row`` (None if it is gone or disabled)."""
    user = session.exec(select(User).where(User.name == row.created_by)).first()
    if user is None or user.disabled_at is not None:
        return None
    return user


def why_not_acting(session: Session, row: TrustedPublisher,
                   now: datetime | None) -> str | None:
    """None if ``row`` may act now, else the reason it may not (safe to show the caller).

    ``now`` is only needed for pending publishers; without it a pending publisher never acts
    (fail closed).
    """
    if row.org_id is not None:  # one statement: the registrant, the org and the role
        found = session.execute(_ORG_REGISTRANT, {"name": row.created_by,
                                                  "org_id": row.org_id}).first()
        if found is None or found.disabled_at is not None:
            return f"its registrant {row.created_by} no longer has an active account"
        if found.org_name is None:
            return "its organization no longer exists"
        if not found.is_admin and found.role != "owner":
            return f"its registrant {row.created_by} is no longer an owner of @{found.org_name}"
        return None
    user = registrant(session, row)
    if user is None:
        return f"its registrant {row.created_by} no longer has an active account"
    if row.package_name is None:
        return "it names neither a package nor a scope"
    name = parse_package_name(row.package_name)
    # A row names a package without a format: it acts only for a registrant who owns every
    # package of that name (a Python and a native `foo` may have different owners).
    packages = pkgs.packages_named(session, name.full)
    if packages:
        if user.id is None or not all(pkgs.is_user_owner(session, p, user.id)
                                      for p in packages):
            return f"its registrant {user.name} does not own {name.full} (now)"
        return None
    expires = pending_expiry(row)
    if now is None or expires <= now:
        return f"it was pending for {name.full} and expired on {expires.isoformat()}"
    if name.scope is not None and not accounts.is_scope_member(session, name.scope, user.id):
        return f"its registrant {user.name} is no longer a member of @{name.scope}"
    return None


def pending_expiry(row: TrustedPublisher) -> datetime:
    """When ``row`` stops acting if its package still does not exist: its recorded expiry, or
    (a row written without one, e.g. by a tool) 30 days after its registration."""
    if row.pending_expires_at is not None:
        return as_utc(row.pending_expires_at)
    return as_utc(row.created_at) + PENDING_LIFETIME


def is_pending(session: Session, row: TrustedPublisher) -> bool:
    """Registered for a package name that does not exist (yet)."""
    return row.package_name is not None and not pkgs.packages_named(session, row.package_name)


def publishers_for(session: Session, package_name: str) -> list[TrustedPublisher]:
    """Every publisher registered for the package itself and for its scope's org, oldest
    first, acting or not (listing and bookkeeping; use `acting_publishers_for` to trust)."""
    name = parse_package_name(package_name)
    if name.scope:  # one statement: the package's and its scope org's
        return list(session.execute(_SCOPED_PUBLISHERS, {"name": name.full,
                                                         "scope": name.scope}).scalars())
    return list(session.execute(_PACKAGE_PUBLISHERS, {"name": name.full}).scalars())


def acting_publishers_for(session: Session, package_name: str,
                          now: datetime | None) -> list[TrustedPublisher]:
    return [r for r in publishers_for(session, package_name)
            if why_not_acting(session, r, now) is None]


def acting_among(session: Session, ids: Iterable[int], package_name: str,
                 now: datetime | None) -> set[int]:
    """Those of ``ids`` that are publishers of ``package_name`` (or its scope) and act now:
    ``{p.id for p in acting_publishers_for(...)} & set(ids)``, loading only those rows (the
    write transaction's re-check of a verified bundle's publishers, issue 13)."""
    wanted = sorted(set(ids))
    if not wanted:
        return set()
    name = parse_package_name(package_name)
    rows = session.execute(_PUBLISHERS_BY_ID, {"ids": wanted}).scalars().all()
    org_id: int | None = None
    if name.scope and any(r.org_id is not None for r in rows):
        org_id = session.execute(_ORG_ID, {"scope": name.scope}).scalar()
    return {r.id for r in rows if r.id is not None
            and (r.package_name == name.full or (org_id is not None and r.org_id == org_id))
            and why_not_acting(session, r, now) is None}


def same_workflow(a: TrustedPublisher, b: TrustedPublisher) -> bool:
    """Both name one workflow file of one repository (of one owner, where both know it)."""
    owners_differ = (a.repository_owner_id is not None and b.repository_owner_id is not None
                     and a.repository_owner_id != b.repository_owner_id)
    return (a.repository.lower() == b.repository.lower() and a.workflow == b.workflow
            and not owners_differ)


def token_publishers(session: Session, principal: Principal, package_name: str,
                     now: datetime | None) -> list[TrustedPublisher]:
    """The publishers through which a minted token may act on ``package_name`` now: those of
    the name (or its scope) that name the token's workflow and still act. Empty when the
    token's own publisher is gone or its package patterns do not cover the name."""
    if principal.trusted_publisher_id is None or not principal.covers(package_name):
        return []
    minted_for = session.get(TrustedPublisher, principal.trusted_publisher_id)
    if minted_for is None:
        return []
    return [r for r in acting_publishers_for(session, package_name, now)
            if same_workflow(r, minted_for)]


def sole_registrant(session: Session, rows: list[TrustedPublisher]) -> User | None:
    """The one account behind ``rows``; None when there are none or several (nobody may then
    be made owner of a new package through them: someone registered another's workflow)."""
    names = {r.created_by for r in rows}
    if len(names) != 1:
        return None
    return registrant(session, rows[0])


# -- state changes --------------------------------------------------------------------------
def _drop(session: Session, row: TrustedPublisher, *, now: datetime, actor: str | None,
          action: str, reason: str) -> None:
    """Revoke ``row``'s minted tokens, delete it and record why. A row that a concurrent
    transaction deleted first is skipped, so concurrent sweeps record one event per row."""
    assert row.id is not None
    revoke_minted_tokens(session, row, now)
    deleted = session.execute(delete(TrustedPublisher).where(col(TrustedPublisher.id) == row.id))
    if deleted.rowcount != 1:  # type: ignore[attr-defined]
        return
    audit(session, at=now, actor=actor, action=action, package=row.package_name,
          publisher_id=row.id, repository=row.repository, workflow=row.workflow,
          registered_by=row.created_by, reason=reason)


def revoke_minted_tokens(session: Session, row: TrustedPublisher, now: datetime) -> None:
    """Tokens minted for ``row`` die with it (and must not block its delete)."""
    session.execute(update(ApiToken).where(col(ApiToken.trusted_publisher_id) == row.id,
                                           col(ApiToken.revoked_at).is_(None))
                    .values(revoked_at=now))
    session.execute(update(ApiToken).where(col(ApiToken.trusted_publisher_id) == row.id)
                    .values(trusted_publisher_id=None))


def claim_pending(session: Session, package: Package, *, actor: str, now: datetime) -> None:
    """Call in the transaction that created ``package`` (after its owners are recorded).

    Pending publishers whose registrant owns the package become ordinary publishers; the
    others are deleted and their tokens revoked, each with an audit event."""
    rows = session.exec(select(TrustedPublisher)
                        .where(TrustedPublisher.package_name == package.name,
                               # only the pending ones: a package of the same name in another
                               # format may already have publishers of its own
                               col(TrustedPublisher.pending_expires_at).is_not(None))
                        .order_by(col(TrustedPublisher.id))).all()
    for row in rows:
        reason = why_not_acting(session, row, now)
        if reason is None:
            if row.pending_expires_at is not None:
                row.pending_expires_at = None
                session.add(row)
                audit(session, at=now, actor=actor, action="trusted-publisher:pending-activated",
                      package=package.name, publisher_id=row.id, repository=row.repository,
                      registered_by=row.created_by)
            continue
        _drop(session, row, now=now, actor=actor, action="trusted-publisher:pending-invalidated",
              reason=f"{package.name} was created by {actor}; {reason}")
    session.flush()


def sweep_pending(session: Session, now: datetime) -> int:
    """Remove expired pending publishers, and settle pending rows whose package appeared in a
    race with their registration (as `claim_pending` would have); returns how many expired
    rows were removed."""
    claimed = session.exec(select(Package).join(
        TrustedPublisher, col(TrustedPublisher.package_name) == col(Package.name)).where(
        col(TrustedPublisher.pending_expires_at).is_not(None)).distinct()).all()
    for package in claimed:
        claim_pending(session, package, actor="system:pending-sweep", now=now)
    unclaimed = ~select(Package.id).where(
        col(Package.name) == col(TrustedPublisher.package_name)).exists()
    expired = session.exec(select(TrustedPublisher).where(or_(
        col(TrustedPublisher.pending_expires_at) <= now,
        and_(col(TrustedPublisher.pending_expires_at).is_(None),
             col(TrustedPublisher.package_name).is_not(None),
             col(TrustedPublisher.created_at) <= now - PENDING_LIFETIME, unclaimed)))
        .order_by(col(TrustedPublisher.id))).all()
    for row in expired:
        _drop(session, row, now=now, actor="system:ttl-expired",
              action="trusted-publisher:pending-expired",
              reason=f"not used within {PENDING_LIFETIME.days} days")
    session.flush()
    return len(expired)


def require_pending_allowance(session: Session, user_id: int, user_name: str,
                              now: datetime) -> None:
    """Raise `TooManyPendingPublishers` if the user already holds the maximum. Locks the
    user's row first (PostgreSQL), so concurrent registrations are counted one at a time;
    SQLite serializes writers anyway."""
    session.exec(select(User).where(User.id == user_id).with_for_update()).first()
    held = [row for row in session.exec(select(TrustedPublisher).where(
                TrustedPublisher.created_by == user_name,
                col(TrustedPublisher.package_name).is_not(None)))
            if pending_expiry(row) > now and is_pending(session, row)]
    if len(held) >= MAX_PENDING_PER_USER:
        raise TooManyPendingPublishers(
            f"you already hold {len(held)} pending trusted publishers (at most "
            f"{MAX_PENDING_PER_USER}); publish one of those packages, remove a pending "
            "publisher, or wait for one to expire", limit=MAX_PENDING_PER_USER,
            pending=sorted(r.package_name or "" for r in held))
