"""Reading packages and versions, and deciding who may change them.

    package = get_package(session, "@acme/widgets")
    version = get_version(session, package, "1.2.3")
    require_owner(session, package, principal, action="deprecate")

Failures: ``PackageNotFound``, ``VersionNotFound``, ``Forbidden``.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from app.errors import Forbidden, PackageNotFound, VersionNotFound
from app.models import Package, PackageOwner, PackageVersion
from app.names import PackageName
from app.services.accounts import Principal, is_scope_member


def find_package(session: Session, name: str, ecosystem: str = "generic") -> Package | None:
    return session.exec(
        select(Package).where(Package.ecosystem == ecosystem, Package.name == name)
    ).first()


def get_package(session: Session, name: str, ecosystem: str = "generic") -> Package:
    package = find_package(session, name, ecosystem)
    if package is None:
        raise PackageNotFound(name)
    return package


def get_version(session: Session, package: Package, version: str) -> PackageVersion:
    row = session.exec(
        select(PackageVersion).where(PackageVersion.package_id == package.id,
                                     PackageVersion.version == version)
    ).first()
    if row is None:
        raise VersionNotFound(package.name, version)
    return row


def list_versions(session: Session, package: Package) -> list[PackageVersion]:
    """Every version, tombstones included, in ascending SemVer precedence."""
    return list(session.exec(
        select(PackageVersion).where(PackageVersion.package_id == package.id)
        .order_by(col(PackageVersion.sort_key))
    ))


def is_owner(session: Session, package: Package, principal: Principal) -> bool:
    """Owners are the package's listed owners, plus every member of its scope's org. A token
    minted for a trusted publisher owns what it covers while a publisher of its workflow
    still acts for an owner (``publisher_token_covers``)."""
    if principal.trusted_publisher_id is not None:
        return publisher_token_covers(session, principal, package.name)
    if principal.user_id is None:
        return False
    if package.scope is not None:
        return is_scope_member(session, package.scope, principal.user_id)
    return session.exec(
        select(PackageOwner).where(PackageOwner.package_id == package.id,
                                   PackageOwner.user_id == principal.user_id)
    ).first() is not None


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
    from app.services import publisher_rules  # it imports this module

    return bool(publisher_rules.token_publishers(session, principal, name, now))


def creator_id(session: Session, name: PackageName, principal: Principal, *,
               now: datetime) -> int | None:
    """Who owns a new unscoped package: the publishing user, or for a trusted publisher's
    token the one user who registered the publishers it acts through (None when there is
    none, or several: someone registered another account's workflow)."""
    from app.services import publisher_rules  # it imports this module

    if principal.user_id is not None or principal.trusted_publisher_id is None:
        return principal.user_id
    rows = publisher_rules.token_publishers(session, principal, name.full, now)
    user = publisher_rules.sole_registrant(session, rows)
    return user.id if user is not None else None
