"""Quarantine the versions a malicious advisory names, and release them again.

    quarantine = QuarantineService(engine, clock)
    quarantine.quarantine(principal, "x_VOUCH-2026-0003", reason="exfiltrates tokens")
    quarantine.release(principal, "x_VOUCH-2026-0003")

A quarantined version keeps its record, file rows, blob and provenance; only its artifact stops
being served (403 ``version_quarantined``, see ``app.routers.packages``). Only ``generic``
packages (OSV ecosystem ``Vouch``, ``advisories.ecosystems.LOCAL_OSV_ECOSYSTEM``) and
``pypi`` packages (OSV ecosystem ``PyPI``) of this registry are touched. Each quarantined
version's reason starts with ``advisory <id>:``; ``release`` clears exactly those, wherever
they are now (even after an edit narrowed the ranges). A version that was already
quarantined (by another advisory, say) is reported as ``already_quarantined`` and keeps its
first reason.

Failures: ``Forbidden`` (not the security team), ``AdvisoryNotFound``, ``AdvisoryNotPublished``
(a draft), ``AdvisoryWithdrawn`` mapped to 409 ``advisory_withdrawn``, ``AdvisoryNotMalicious``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from advisories.ecosystems import LOCAL_OSV_ECOSYSTEM, normalize_name
from advisories.errors import AdvisoryWithdrawn
from advisories.models import Advisory
from advisories.ranges import compile_affected
from app.accounts.service import Principal
from app.advisories import store
from app.advisories.errors import (
    AdvisoryNotFound,
    AdvisoryNotMalicious,
    AdvisoryNotPublished,
    from_library,
)
from app.advisories.schemas import QuarantineReport, VersionRef
from app.advisories.service import require_security
from app.core.clock import Clock
from app.core.db import session_scope
from app.core.models import Package, PackageVersion
from app.core.records import audit, enqueue
from app.publishing import packages as pkgs

#: OSV ecosystem -> the registry's ecosystem whose packages an advisory can quarantine
#: (issue 14: Python packages are named under ``PyPI``, PEP 503-normalised).
_SERVED = {LOCAL_OSV_ECOSYSTEM: "generic", "PyPI": "pypi"}


def reason_prefix(advisory_id: str) -> str:
    return f"advisory {advisory_id}:"


class QuarantineService:
    def __init__(self, engine: Engine, clock: Clock,
                 on_change: Callable[[str], None] | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self.on_change = on_change  # called after commit with each package name touched

    def _changed(self, refs: list[VersionRef]) -> None:
        if self.on_change is not None:
            for name in sorted({ref.package for ref in refs}):
                self.on_change(name)

    def quarantine(self, principal: Principal, advisory_id: str,
                   reason: str | None = None) -> QuarantineReport:
        """Quarantine every live version of a served package the advisory affects."""
        require_security(principal)
        now = self.clock.now()
        report = QuarantineReport(advisory_id=advisory_id)
        with session_scope(self.engine, write=True) as session:
            record = _malicious_record(session, advisory_id)
            text = f"{reason_prefix(advisory_id)} {reason or record.summary or 'malicious'}"
            for package, row in _affected_versions(session, record):
                ref = VersionRef(package=package.name, version=row.version)
                if row.quarantined_at is not None:
                    report.already_quarantined.append(ref)
                    continue
                row.quarantined_at, row.quarantine_reason = now, text[:2000]
                session.add(row)
                report.quarantined.append(ref)
                audit(session, at=now, actor=principal.name, action="version:quarantine",
                      package=package.name, version=row.version, advisory_id=advisory_id,
                      reason=row.quarantine_reason)
            _reindex(session, now, report.quarantined)
            audit(session, at=now, actor=principal.name, action="advisory:quarantine",
                  advisory_id=advisory_id,
                  versions=[f"{v.package}@{v.version}" for v in report.quarantined])
        self._changed(report.quarantined)
        return report

    def release(self, principal: Principal, advisory_id: str) -> QuarantineReport:
        """Lift the quarantine this advisory set, on every version that carries it."""
        require_security(principal)
        now = self.clock.now()
        report = QuarantineReport(advisory_id=advisory_id)
        with session_scope(self.engine, write=True) as session:
            if store.get_row(session, advisory_id) is None:
                raise AdvisoryNotFound(advisory_id)
            rows = session.exec(
                select(PackageVersion, Package)
                .where(col(PackageVersion.quarantine_reason).startswith(
                    reason_prefix(advisory_id), autoescape=True),
                    PackageVersion.package_id == Package.id)
                .order_by(col(Package.name), col(PackageVersion.sort_key))).all()
            for row, package in rows:
                row.quarantined_at, row.quarantine_reason = None, None
                session.add(row)
                report.released.append(VersionRef(package=package.name, version=row.version))
                audit(session, at=now, actor=principal.name, action="version:unquarantine",
                      package=package.name, version=row.version, advisory_id=advisory_id)
            _reindex(session, now, report.released)
            audit(session, at=now, actor=principal.name, action="advisory:unquarantine",
                  advisory_id=advisory_id,
                  versions=[f"{v.package}@{v.version}" for v in report.released])
        self._changed(report.released)
        return report


def _malicious_record(session: Session, advisory_id: str) -> Advisory:
    row = store.get_row(session, advisory_id)
    if row is None:
        raise AdvisoryNotFound(advisory_id)
    if row.state == "draft":
        raise AdvisoryNotPublished(advisory_id, "quarantine with")
    record = store.load(row)
    if record.is_withdrawn:
        raise from_library(AdvisoryWithdrawn(advisory_id))
    if not record.is_malicious:
        raise AdvisoryNotMalicious(advisory_id)
    return record


def _affected_versions(session: Session,
                       record: Advisory) -> list[tuple[Package, PackageVersion]]:
    found: dict[int, tuple[Package, PackageVersion]] = {}
    for entry in record.affected or []:
        if entry.package is None or entry.package.ecosystem not in _SERVED:
            continue
        osv_ecosystem = entry.package.ecosystem
        name = normalize_name(osv_ecosystem, entry.package.name)
        package = pkgs.find_package(session, name, _SERVED[osv_ecosystem])
        if package is None:
            continue
        compiled = compile_affected(entry, osv_ecosystem)
        for row in pkgs.list_versions(session, package):
            if row.unpublished_at is None and row.id is not None and compiled.matches(row.version):
                found[row.id] = (package, row)
    return [found[key] for key in sorted(found)]


def _reindex(session: Session, now: datetime, refs: list[VersionRef]) -> None:
    for name in sorted({ref.package for ref in refs}):
        enqueue(session, at=now, kind="search.reindex", package=name)
