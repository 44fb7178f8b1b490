"""The dependency-confusion guard: which names never resolve upstream.

    if is_local(session, "pypi", "internal-lib"): ...     # hosted here, or reserved

A name is local when Vouch hosts a package of that name in the format (any version, live or
not: not even a version the hosted package lacks is fetched), when an organisation reserved it
(``name_reservations``), or, for npm, when its ``@scope`` is an organisation's or is reserved.
Names compare normalised: PEP 503 for Python (``Internal_Lib`` is ``internal-lib``), lowercase
for npm.
"""

from __future__ import annotations

from sqlmodel import Session, func, select

from app.core.models import Org, Package
from app.proxy.models import NameReservation
from formats.pypi.names import normalize


def is_local(session: Session, ecosystem: str, name: str) -> bool:
    if ecosystem == "pypi":
        key = normalize(name)
        hosted = session.exec(select(Package.id).where(
            Package.ecosystem == "pypi", Package.name == key)).first()
        return hosted is not None or session.exec(select(NameReservation.id).where(
            NameReservation.pypi_key == key)).first() is not None
    key = name.lower()
    hosted = session.exec(select(Package.id).where(
        Package.ecosystem == ecosystem, func.lower(Package.name) == key)).first()
    if hosted is not None:
        return True
    keys = [key]
    if key.startswith("@") and "/" in key:
        scope = key.split("/", 1)[0]
        keys.append(scope)
        if session.exec(select(Org.id).where(func.lower(Org.name) == scope[1:])).first():
            return True
    return session.exec(select(NameReservation.id).where(
        NameReservation.npm_key.in_(keys))).first() is not None  # type: ignore[attr-defined]
