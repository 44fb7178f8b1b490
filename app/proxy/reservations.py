"""Names and ``@scopes`` an organisation reserves so they never resolve upstream (issue 17).

    reservation = reserve(session, "acme", "internal-lib", principal, now=now)
    answer = reserve_name(registry, "acme", "@acme-internal", principal)  # own transaction

Only an owner of the organisation (or an administrator) with an unrestricted token may reserve.
A name is stored with its PEP 503 form (for Python) and its lowercase form (for npm), both
unique: ``Internal_Lib`` and ``internal-lib`` are one reservation. ``@scope`` reserves every
npm name of the scope. Reserving works before anything of that name is published; a name
another organisation reserved is 409 ``already_exists``; an invalid name 400 ``invalid_name``.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, col, select

from app.accounts.service import Principal, get_org, require_org_owner
from app.core.db import session_scope
from app.core.errors import AlreadyExists, InvalidName
from app.core.records import audit
from app.proxy.models import NameReservation
from app.proxy.schemas import ReservationPublic
from app.registry import Registry
from formats.errors import FormatError
from formats.pypi.names import normalize

_SCOPE = re.compile(r"^@[a-z0-9][a-z0-9._-]{0,63}$")
_NPM = re.compile(r"^(@[a-z0-9][a-z0-9._-]*/)?[a-z0-9][a-z0-9._-]{0,213}$")


def reserve(session: Session, org_name: str, name: str, principal: Principal, *,
            now: datetime) -> NameReservation:
    org = get_org(session, org_name)
    require_org_owner(session, org, principal)
    npm_key = name.strip().lower()
    pypi_key: str | None = None
    if npm_key.startswith("@") and "/" not in npm_key:
        if not _SCOPE.match(npm_key):
            raise InvalidName(f"{name[:80]!r} is not a valid @scope")
    else:
        if not _NPM.match(npm_key):
            raise InvalidName(f"{name[:80]!r} is not a valid package name")
        if not npm_key.startswith("@"):
            try:
                pypi_key = normalize(name.strip())
            except FormatError as err:
                raise InvalidName(err.detail) from err
    clash = col(NameReservation.npm_key) == npm_key
    if pypi_key is not None:
        clash = or_(clash, col(NameReservation.pypi_key) == pypi_key)
    if session.exec(select(NameReservation).where(clash)).first() is not None:
        raise AlreadyExists(f"{name} is already reserved", name=name)
    assert org.id is not None
    row = NameReservation(org_id=org.id, name=name.strip(), pypi_key=pypi_key, npm_key=npm_key,
                          created_by=principal.name, created_at=now)
    session.add(row)
    audit(session, at=now, actor=principal.name, action="org:reserve-name", org=org.name,
          name=row.name)
    return row


def reserve_name(registry: Registry, org: str, name: str,
                 principal: Principal) -> ReservationPublic:
    with session_scope(registry.engine, write=True) as session:
        row = reserve(session, org, name, principal, now=registry.clock.now())
        return ReservationPublic(org=org, name=row.name)
