"""OSV 1.7 records as immutable pydantic models, parsed strictly, exported losslessly.

Example::

    from advisories.models import Advisory
    record = Advisory.from_json(json.loads(path.read_text()))   # schema + model checks
    record.id, record.modified_at, record.is_withdrawn
    for entry in record.affected or []:
        entry.package.ecosystem, entry.package.name, entry.versions
    assert Advisory.from_json(record.to_json()) == record      # round trip

``from_json`` raises :class:`advisories.errors.InvalidAdvisory` (code ``invalid_advisory``) with
one reason per problem. Timestamps stay the exact strings of the record (so an export is
byte-for-byte faithful); ``*_at`` properties give timezone-aware datetimes. Nested objects keep
fields this model does not know (OSV allows them there); the top level refuses them, as the
schema's ``additionalProperties: false`` does, and extra data belongs in ``database_specific``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, model_validator

from advisories.errors import InvalidAdvisory

_TIMESTAMP = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?Z$")


def parse_timestamp(text: str) -> datetime:
    """Parse an OSV RFC 3339 UTC timestamp (``...Z``); ValueError if it is not one.

    Fractions finer than microseconds are truncated (Python's datetime stops there).
    """
    match = _TIMESTAMP.match(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 UTC timestamp ending in Z: {text!r}")
    base = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    fraction = (match.group(2) or "")[:6].ljust(6, "0")
    return base.replace(microsecond=int(fraction))


def format_timestamp(moment: datetime) -> str:
    """Format an aware datetime as OSV wants it: UTC, ``Z``, microseconds only when non-zero."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware datetime (UTC)")
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}"
    return text + "Z"


def _check_timestamp(text: str) -> str:
    parse_timestamp(text)
    return text


Timestamp = Annotated[str, AfterValidator(_check_timestamp)]
JsonObject = dict[str, Any]

RangeType = Literal["SEMVER", "ECOSYSTEM", "GIT"]
EventKind = Literal["introduced", "fixed", "last_affected", "limit"]
SeverityType = Literal["CVSS_V2", "CVSS_V3", "CVSS_V4", "Ubuntu"]
ReferenceType = Literal[
    "ADVISORY",
    "ARTICLE",
    "DETECTION",
    "DISCUSSION",
    "REPORT",
    "FIX",
    "INTRODUCED",
    "GIT",
    "PACKAGE",
    "EVIDENCE",
    "WEB",
]
CreditType = Literal[
    "FINDER",
    "REPORTER",
    "ANALYST",
    "COORDINATOR",
    "REMEDIATION_DEVELOPER",
    "REMEDIATION_REVIEWER",
    "REMEDIATION_VERIFIER",
    "TOOL",
    "SPONSOR",
    "OTHER",
]
EVENT_KINDS: tuple[EventKind, ...] = ("introduced", "fixed", "last_affected", "limit")


class _Open(BaseModel):
    """Nested OSV object: strict types, unknown keys kept for the round trip."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True)


class Event(_Open):
    """One range event; exactly one of the four keys is set."""

    introduced: str | None = None
    fixed: str | None = None
    last_affected: str | None = None
    limit: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Event:
        present = [kind for kind in EVENT_KINDS if getattr(self, kind) is not None]
        if len(present) != 1:
            raise ValueError(
                "an event has exactly one of introduced, fixed, last_affected, limit; "
                f"found {present or 'none'}"
            )
        return self

    @property
    def kind(self) -> EventKind:
        """Which of the four event keys this event carries."""
        return next(kind for kind in EVENT_KINDS if getattr(self, kind) is not None)

    @property
    def value(self) -> str:
        """The version (or commit) of this event."""
        value: str = getattr(self, self.kind)
        return value


class Range(_Open):
    type: RangeType
    repo: str | None = None
    events: list[Event]
    database_specific: JsonObject | None = None


class Package(_Open):
    ecosystem: str
    name: str
    purl: str | None = None


class Severity(_Open):
    type: SeverityType
    score: str


class Affected(_Open):
    package: Package | None = None
    severity: list[Severity] | None = None
    ranges: list[Range] | None = None
    versions: list[str] | None = None
    ecosystem_specific: JsonObject | None = None
    database_specific: JsonObject | None = None


class Reference(_Open):
    type: ReferenceType
    url: str


class Credit(_Open):
    name: str
    contact: list[str] | None = None
    type: CreditType | None = None


class Advisory(BaseModel):
    """One OSV record. Build it with :meth:`from_json` for untrusted input."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    schema_version: str | None = None
    id: str
    modified: Timestamp
    published: Timestamp | None = None
    withdrawn: Timestamp | None = None
    aliases: list[str] | None = None
    related: list[str] | None = None
    upstream: list[str] | None = None
    summary: str | None = None
    details: str | None = None
    severity: list[Severity] | None = None
    affected: list[Affected] | None = None
    references: list[Reference] | None = None
    credits: list[Credit] | None = None
    database_specific: JsonObject | None = None

    @classmethod
    def from_json(cls, data: object) -> Advisory:
        """Validate ``data`` (decoded JSON) against the OSV schema, then parse it.

        Raises :class:`InvalidAdvisory` listing every schema violation, or every model
        violation when the schema passed (e.g. a timestamp such as ``x2024-01-01T00:00:00Zx``
        that the schema's unanchored pattern lets through).
        """
        from advisories.schema import validate_osv  # schema imports nothing from here

        validate_osv(data)
        try:
            return cls.model_validate(data)
        except ValidationError as err:
            raise InvalidAdvisory(_pydantic_reasons(err), _id_of(data)) from err

    def to_json(self) -> JsonObject:
        """The record as JSON-ready data: exactly the keys that were given (or set), plus any
        unknown nested keys kept from the input."""
        data: JsonObject = self.model_dump(mode="json", exclude_unset=True)
        return data

    @property
    def modified_at(self) -> datetime:
        return parse_timestamp(self.modified)

    @property
    def published_at(self) -> datetime | None:
        return parse_timestamp(self.published) if self.published else None

    @property
    def withdrawn_at(self) -> datetime | None:
        return parse_timestamp(self.withdrawn) if self.withdrawn else None

    @property
    def is_withdrawn(self) -> bool:
        """Withdrawn records stay retrievable by id but never match a query."""
        return self.withdrawn is not None

    @property
    def is_malicious(self) -> bool:
        """A malicious-package report: an OpenSSF ``MAL-`` id, or
        ``database_specific.malicious: true`` on a locally filed record."""
        flagged = (self.database_specific or {}).get("malicious") is True
        return flagged or self.id.startswith("MAL-")


def _id_of(data: object) -> str | None:
    if isinstance(data, dict) and isinstance(data.get("id"), str):
        return str(data["id"])
    return None


def _pydantic_reasons(err: ValidationError) -> list[str]:
    reasons = []
    for problem in err.errors():
        path = "/".join(str(part) for part in problem["loc"]) or "<record>"
        reasons.append(f"{path}: {problem['msg']}")
    return reasons
