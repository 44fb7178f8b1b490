"""Wire models of the native advisory API (request bodies in, public views out).

    AdvisoryPublic.from_row(row)            # a stored advisory as the API shows it
    ImportReport(created=1, results=[...])  # what an import did, record by record
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.core.clock import as_utc
from app.core.models import Advisory as AdvisoryRow


class WithdrawRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class QuarantineRequest(BaseModel):
    reason: str | None = Field(default=None, max_length=2000)


class PackageRef(BaseModel):
    ecosystem: str
    name: str


class AdvisoryPublic(BaseModel):
    id: str
    state: str
    summary: str
    severity: str | None
    malicious: bool
    aliases: list[str]
    packages: list[PackageRef]
    modified: datetime
    published: datetime | None
    withdrawn: datetime | None
    withdrawn_reason: str | None
    created_by: str
    record: dict[str, Any] | None = None

    @classmethod
    def from_row(cls, row: AdvisoryRow, *, with_record: bool = True) -> AdvisoryPublic:
        record = row.record
        packages = sorted({(a["package"]["ecosystem"], a["package"]["name"])
                           for a in record.get("affected") or [] if a.get("package")})
        return cls(
            id=row.id, state=row.state, summary=row.summary, severity=row.severity,
            malicious=row.malicious, aliases=list(record.get("aliases") or []),
            packages=[PackageRef(ecosystem=e, name=n) for e, n in packages],
            modified=as_utc(row.modified),
            published=as_utc(row.published) if row.published else None,
            withdrawn=as_utc(row.withdrawn) if row.withdrawn else None,
            withdrawn_reason=row.withdrawn_reason, created_by=row.created_by,
            record=record if with_record else None,
        )


class ImportResult(BaseModel):
    source: str
    status: str  # created | updated | unchanged | invalid
    id: str | None = None
    reasons: list[str] = Field(default_factory=list)


class ImportReport(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0
    results: list[ImportResult] = Field(default_factory=list)


class VersionRef(BaseModel):
    package: str
    version: str


class QuarantineReport(BaseModel):
    advisory_id: str
    quarantined: list[VersionRef] = Field(default_factory=list)
    already_quarantined: list[VersionRef] = Field(default_factory=list)
    released: list[VersionRef] = Field(default_factory=list)
