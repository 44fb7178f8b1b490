"""Signature policies set on a name before its first version (issue 12).

    set_pending(session, principal, "widget", "sigstore", now=now)   # or policy=None: drop it
    pending_for(session, name, principal, now)   # 'sigstore' for alice's own first publish
    claim(session, package, actor="alice", now=now)   # in the transaction creating the package

The same anti-takeover rule as pending trusted publishers (``publisher_rules``): a pending
policy reserves nothing and binds nobody else. It applies to its registrant's own first
publish of the name, becomes the package's policy when the package is created and its
registrant owns it (``signature-policy:pending-applied``), is deleted when anyone else creates
the name (``signature-policy:pending-invalidated``) and expires 30 days after it was set
(``signature-policy:pending-expired``, swept on every pending set and on claim). One pending
policy per name and user; setting it again replaces it. A user holds at most
``MAX_PENDING_PER_USER`` unexpired pending policies (`TooManyPendingPolicies`, 409
``too_many_pending_policies``), as for pending publishers: squatting many names' policies costs
a slot each.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, delete
from sqlmodel import Session, col, select

from app.accounts.service import Principal
from app.core import driver_sql
from app.core.clock import as_utc
from app.core.errors import Conflict
from app.core.models import Package, PendingPolicy, TrustedPublisher, User
from app.core.records import audit
from app.publishing import packages as pkgs
from app.trust.publisher_rules import PENDING_LIFETIME

MAX_PENDING_PER_USER = 3  # as for pending trusted publishers


class TooManyPendingPolicies(Conflict):
    """The user already holds `MAX_PENDING_PER_USER` unexpired pending policies."""

    code = "too_many_pending_policies"


def set_pending(session: Session, principal: Principal, name: str, policy: str | None, *,
                now: datetime) -> datetime | None:
    """Record (or with ``policy=None`` drop) the caller's pending policy for ``name``, a name
    the caller may create (checked by the caller); returns when it expires (None: dropped).
    Raises `TooManyPendingPolicies` (nothing written) when a new one would exceed the cap;
    replacing or dropping one's own is always allowed."""
    sweep(session, now)
    row = _own_row(session, name, principal.name)
    if policy is not None and row is None:
        _require_allowance(session, principal, now)
    if policy is None:
        if row is not None:
            session.delete(row)
        audit(session, at=now, actor=principal.name, action="signature-policy:set",
              package=name, policy=None, pending=True)
        return None
    expires = now + PENDING_LIFETIME
    if row is None:
        row = PendingPolicy(package_name=name, policy=policy, created_by=principal.name,
                            created_at=now, expires_at=expires)
    else:
        row.policy, row.created_at, row.expires_at = policy, now, expires
    session.add(row)
    session.flush()
    audit(session, at=now, actor=principal.name, action="signature-policy:set", package=name,
          policy=policy, pending=True, pending_expires_at=expires.isoformat())
    return expires


def pending_for(session: Session, name: str, principal: Principal,
                now: datetime) -> str | None:
    """The unexpired pending policy that governs ``principal``'s first publish of ``name``:
    the user's own, or for a minted token its publisher's registrant's. Nobody else's."""
    who = registrant(session, principal)
    if who is None:
        return None
    row = driver_sql.first(session, OWN_POLICY, {"name": name, "who": who})
    return None if row is None else unexpired(row.policy, row.expires_at, now)


def registrant(session: Session, principal: Principal) -> str | None:
    """Whose pending policies govern ``principal``'s first publishes: the user's own, or for
    a token minted for a trusted publisher its registrant's; None: nobody's."""
    if principal.trusted_publisher_id is not None:
        publisher = session.get(TrustedPublisher, principal.trusted_publisher_id)
        return publisher.created_by if publisher is not None else None
    return principal.name if principal.user_id is not None else None


def unexpired(policy: str | None, expires_at: datetime | None, now: datetime) -> str | None:
    """A pending policy read as columns, unless it is missing or has expired."""
    if policy is None or expires_at is None or as_utc(expires_at) <= now:
        return None
    return str(policy)


_PENDING = PendingPolicy.__table__  # type: ignore[attr-defined]
#: Whose row is a user's pending policy of a name (one at most: unique name and user).
OWN = (_PENDING.c.package_name == bindparam("name")) & (_PENDING.c.created_by == bindparam("who"))
#: A user's pending policy of a name, two columns, built once (each first publish asks).
OWN_POLICY = select(_PENDING.c.policy, _PENDING.c.expires_at).where(OWN)


def claim(session: Session, package: Package, *, actor: str, now: datetime) -> None:
    """Call in the transaction that created ``package`` (after its owners are recorded): the
    pending policy of a registrant who owns the package becomes its policy (the first such,
    if the package has none yet); every other pending policy of the name is deleted."""
    rows = session.exec(select(PendingPolicy).where(PendingPolicy.package_name == package.name)
                        .order_by(col(PendingPolicy.id))).all()
    for row in rows:
        owner = _active_user(session, row.created_by)
        owns = (owner is not None and owner.id is not None
                and pkgs.is_user_owner(session, package, owner.id))
        if as_utc(row.expires_at) <= now:
            _drop(session, row, now=now, actor="system:ttl-expired",
                  action="signature-policy:pending-expired",
                  reason=f"not used within {PENDING_LIFETIME.days} days")
        elif owns and package.signature_policy is None:
            package.signature_policy = row.policy
            session.add(package)
            session.delete(row)
            audit(session, at=now, actor=actor, action="signature-policy:pending-applied",
                  package=package.name, policy=row.policy, registered_by=row.created_by)
        else:
            _drop(session, row, now=now, actor=actor,
                  action="signature-policy:pending-invalidated",
                  reason=f"{package.name} was created by {actor}"
                  + ("" if owns else f"; {row.created_by} does not own it"))
    session.flush()


def sweep(session: Session, now: datetime) -> int:
    """Delete expired pending policies (one audit event each); returns how many."""
    expired = session.exec(select(PendingPolicy).where(col(PendingPolicy.expires_at) <= now)
                           .order_by(col(PendingPolicy.id))).all()
    for row in expired:
        _drop(session, row, now=now, actor="system:ttl-expired",
              action="signature-policy:pending-expired",
              reason=f"not used within {PENDING_LIFETIME.days} days")
    session.flush()
    return len(expired)


def _require_allowance(session: Session, principal: Principal, now: datetime) -> None:
    """Raise `TooManyPendingPolicies` if the caller already holds the maximum. Locks the
    user's row first (PostgreSQL), so concurrent sets are counted one at a time; SQLite
    write transactions are serialized anyway."""
    if principal.user_id is not None:
        session.exec(select(User).where(User.id == principal.user_id).with_for_update()).first()
    held = sorted(session.exec(select(PendingPolicy.package_name).where(
        PendingPolicy.created_by == principal.name, col(PendingPolicy.expires_at) > now)).all())
    if len(held) >= MAX_PENDING_PER_USER:
        raise TooManyPendingPolicies(
            f"you already hold {len(held)} pending signature policies (at most "
            f"{MAX_PENDING_PER_USER}): {', '.join(held)}; publish one of those packages, drop "
            "one (vouch policy set NAME default), or wait for one to expire",
            limit=MAX_PENDING_PER_USER, pending=held)


def _own_row(session: Session, name: str, user_name: str) -> PendingPolicy | None:
    return session.exec(select(PendingPolicy).where(PendingPolicy.package_name == name,
                                                    PendingPolicy.created_by == user_name)
                        ).first()


def _active_user(session: Session, name: str) -> User | None:
    user = session.exec(select(User).where(User.name == name)).first()
    return user if user is not None and user.disabled_at is None else None


def _drop(session: Session, row: PendingPolicy, *, now: datetime, actor: str, action: str,
          reason: str) -> None:
    """Delete ``row`` and record why; a row a concurrent transaction deleted first is skipped
    (one event per row)."""
    deleted = session.execute(delete(PendingPolicy).where(col(PendingPolicy.id) == row.id))
    if deleted.rowcount != 1:  # type: ignore[attr-defined]
        return
    audit(session, at=now, actor=actor, action=action, package=row.package_name,
          policy=row.policy, registered_by=row.created_by, reason=reason)
