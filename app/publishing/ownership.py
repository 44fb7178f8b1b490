"""Who may change a package: owners, org members, and tokens minted for trusted publishers.

    require_owner(session, package, principal, action="deprecate")
    require_may_create(session, name, principal, now=now)

Package lookups are in ``app.publishing.packages``; whether a trusted publisher acts for its
registrant now is ``app.trust.publisher_rules`` (this module asks it for minted tokens).
Failures: ``Forbidden``.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from app.accounts.service import Principal, is_scope_member
from app.core.errors import Forbidden
from app.core.models import Package
from app.publishing.names import PackageName
from app.publishing.packages import is_user_owner
from app.trust import publisher_rules


def is_owner(session: Session, package: Package, principal: Principal) -> bool:
    """Owners are the package's listed owners, plus every member of its scope's org. A token
    minted for a trusted publisher owns what it covers while a publisher of its workflow
    still acts for an owner (``publisher_token_covers``)."""
    if principal.trusted_publisher_id is not None:
        return publisher_token_covers(session, principal, package.name)
    if principal.user_id is None:
        return False
    return is_user_owner(session, package, principal.user_id)


def require_action(principal: Principal, action: str, package: str) -> None:
    """The credential itself must allow ``action`` on ``package`` (token scopes)."""
    if not principal.can(action):
        raise Forbidden(f"this token may not {action}", action=action)
    if not principal.covers(package):
        raise Forbidden(f"this token is not valid for package {package}", package=package)


def require_owner(session: Session, package: Package, principal: Principal, action: str) -> None:
    require_action(principal, action, package.name)
    if not is_owner(session, package, principal):
        raise Forbidden(f"you are not an owner of {package.name}", package=package.name)


def require_may_create(session: Session, name: PackageName, principal: Principal, *,
                       now: datetime) -> None:
    """A new scoped name needs membership of the scope's org; unscoped names are first-come.
    A trusted publisher's token may create the names its (pending) publishers act for now."""
    if principal.trusted_publisher_id is not None:
        if not publisher_token_covers(session, principal, name.full, now=now):
            raise Forbidden(f"no trusted publisher of this token may create {name.full}",
                            package=name.full)
        return
    if name.scope is not None and not is_scope_member(session, name.scope, principal.user_id):
        raise Forbidden(
            f"the scope @{name.scope} belongs to an organization you are not a member of",
            package=name.full,
        )
    if name.scope is None and principal.user_id is None:
        raise Forbidden("a trusted publisher cannot create an unscoped package with no owner")


def publisher_token_covers(session: Session, principal: Principal, name: str, *,
                           now: datetime | None = None) -> bool:
    """A minted token covers ``name`` if its package patterns (fixed at minting) cover it
    and a publisher of the name (or its scope) that names the token's workflow still acts
    for its registrant (``publisher_rules``: the registrant still owns the target; a pending
    publisher is unexpired, which needs ``now``)."""
    return bool(publisher_rules.token_publishers(session, principal, name, now))


def creator_id(session: Session, name: PackageName, principal: Principal, *,
               now: datetime) -> int | None:
    """Who owns a new unscoped package: the publishing user, or for a trusted publisher's
    token the one user who registered the publishers it acts through (None when there is
    none, or several: someone registered another account's workflow)."""
    if principal.user_id is not None or principal.trusted_publisher_id is None:
        return principal.user_id
    rows = publisher_rules.token_publishers(session, principal, name.full, now)
    user = publisher_rules.sole_registrant(session, rows)
    return user.id if user is not None else None
