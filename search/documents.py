"""The package document that every search backend indexes, built from plain data.

    from search.documents import PackageDocument

    doc = PackageDocument.from_dict({
        "name": "@acme/http-client", "description": "A small HTTP client",
        "keywords": ["http"], "downloads_total": 1200, "downloads_recent": 40,
    })
    doc.scope     # "acme" (derived from the name)
    doc.to_dict() # JSON-ready, round-trips through from_dict
    PackageDocument(name="requests", ecosystem="pypi").ident   # "pypi:requests"

Packages of several formats share one index: ``ecosystem`` names the format ("generic" for
the registry's native packages, "pypi", "npm"). Names are matched across formats (``key``, the
lower-cased name), while a document's identity (``ident``) is the pair: the native document of
a name keeps the bare lower-cased name as its identity, another format's is
``"<ecosystem>:<name>"`` (``document_id``).

Construction validates every field and raises `search.errors.InvalidDocument` naming the
field at fault; a document that exists is always indexable.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from search.errors import InvalidDocument

MAX_NAME_LENGTH = 214  # npm's limit, also ample for PyPI names
MAX_TEXT_LENGTH = 10_000  # description; longer text is refused rather than silently cut
MAX_LIST_ITEMS = 100  # keywords, maintainers
NATIVE = "generic"  # the ecosystem whose identities are bare names


def document_id(name: str, ecosystem: str = NATIVE) -> str:
    """The identity of the document of ``name`` in ``ecosystem`` (see the module docstring)."""
    key = name.lower()
    return key if ecosystem == NATIVE else f"{ecosystem}:{key}"


@dataclasses.dataclass(frozen=True, slots=True)
class PackageDocument:
    """One package as the search index sees it. Immutable; use `dataclasses.replace`."""

    name: str
    scope: str | None = None
    description: str = ""
    keywords: tuple[str, ...] = ()
    maintainers: tuple[str, ...] = ()
    latest_version: str | None = None
    downloads_total: int = 0
    downloads_recent: int = 0
    deprecated: bool = False
    quarantined: bool = False
    has_advisories: bool = False
    verified_publisher: bool = False
    updated_at: datetime | None = None
    ecosystem: str = NATIVE

    def __post_init__(self) -> None:
        _check_name(self.name)
        if (not isinstance(self.ecosystem, str) or not self.ecosystem.isascii()
                or not self.ecosystem.isalnum() or self.ecosystem != self.ecosystem.lower()
                or len(self.ecosystem) > 32):
            raise InvalidDocument("ecosystem", "must be 1-32 lower-case ASCII letters or digits")
        derived = _scope_of(self.name)
        if self.scope is None:
            object.__setattr__(self, "scope", derived)
        elif self.scope != derived:
            raise InvalidDocument("scope", f"{self.scope!r} does not match name {self.name!r}")
        if len(self.description) > MAX_TEXT_LENGTH:
            raise InvalidDocument("description", f"longer than {MAX_TEXT_LENGTH} characters")
        for field in ("keywords", "maintainers"):
            values = getattr(self, field)
            if isinstance(values, str) or not all(isinstance(v, str) for v in values):
                raise InvalidDocument(field, "must be a sequence of strings")
            if len(values) > MAX_LIST_ITEMS:
                raise InvalidDocument(field, f"more than {MAX_LIST_ITEMS} items")
            object.__setattr__(self, field, tuple(values))
        for field in ("downloads_total", "downloads_recent"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidDocument(field, "must be a non-negative integer")
        if self.updated_at is not None and self.updated_at.tzinfo is None:
            raise InvalidDocument("updated_at", "must be timezone-aware")

    @property
    def key(self) -> str:
        """What name queries match: the lower-cased name (in every format)."""
        return self.name.lower()

    @property
    def ident(self) -> str:
        """The identity used by every index: ``document_id(name, ecosystem)``."""
        return document_id(self.name, self.ecosystem)

    @property
    def demoted(self) -> bool:
        """Deprecated and quarantined packages are ranked below their peers."""
        return self.deprecated or self.quarantined

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PackageDocument:
        """Build from plain data (JSON or a database row mapping).

        Unknown keys are refused (`InvalidDocument`), so a typo never silently drops a field.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidDocument(unknown[0], "unknown field")
        values = dict(data)
        for field in ("keywords", "maintainers"):
            if field in values and isinstance(values[field], list):
                values[field] = tuple(values[field])
        stamp = values.get("updated_at")
        if isinstance(stamp, str):
            try:
                values["updated_at"] = datetime.fromisoformat(stamp)
            except ValueError as err:
                raise InvalidDocument("updated_at", "not an ISO 8601 timestamp") from err
        if "name" not in values:
            raise InvalidDocument("name", "missing")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready plain data; `from_dict(doc.to_dict()) == doc`."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["keywords"] = list(self.keywords)
        data["maintainers"] = list(self.maintainers)
        data["updated_at"] = self.updated_at.isoformat() if self.updated_at else None
        return data


def _check_name(name: object) -> None:
    if not isinstance(name, str) or not name:
        raise InvalidDocument("name", "must be a non-empty string")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidDocument("name", f"longer than {MAX_NAME_LENGTH} characters")
    if any(ch.isspace() for ch in name):
        raise InvalidDocument("name", "must not contain whitespace")


def _scope_of(name: str) -> str | None:
    if not name.startswith("@"):
        return None
    scope, slash, bare = name[1:].partition("/")
    if not slash or not scope or not bare:
        raise InvalidDocument("name", "a scoped name must look like @scope/name")
    return scope
