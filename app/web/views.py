"""What the package and advisory pages show, built from the same documents the API serves.

    with session_scope(engine) as session:
        page = package_page(session, "@acme/widgets")   # PackageNotFound if unknown
    view = advisory_view(service.detail(None, "GHSA-xxxx"))   # AdvisoryNotFound upstream

``package_page`` reads the package document and every version document (signer, advisories,
downloads), newest version first, and gathers the advisories that affect any version. The
install snippet recommends the newest version that passes `vouch verify`'s default checks
(signed, not deprecated, quarantined, unpublished or affected by an advisory; a release before
a pre-release), not simply the newest. A GPG signer is named by the registry account that owns
the key (``app.web.signers``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup
from sqlmodel import Session, col, select

from advisories.ecosystems import LOCAL_OSV_ECOSYSTEM
from advisories.severity import LEVELS
from app.advisories.schemas import AdvisoryPublic
from app.core.models import User
from app.publishing import packages as pkgs
from app.publishing.documents import package_document, version_document
from app.publishing.schemas import PackagePublic, VersionPublic
from app.web.markdown import render_markdown
from app.web.signers import SignerView, describe_signer

# Most severe first: the advisories library owns the scale.
_SEVERITY_ORDER: dict[str, int] = {level: -rank for rank, level in enumerate(LEVELS)}


@dataclass(frozen=True)
class VersionRow:
    doc: VersionPublic
    signer: SignerView | None

    @property
    def anchor(self) -> str:
        return "v-" + "".join(c if c.isalnum() or c in "-_." else "_" for c in self.doc.version)


@dataclass
class AffectingAdvisory:
    id: str
    summary: str
    severity: str | None
    malicious: bool
    versions: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PackagePage:
    package: PackagePublic
    current: VersionPublic | None  # the latest version, or the newest one when none is live
    versions: list[VersionRow]  # newest first
    advisories: list[AffectingAdvisory]
    recommended: VersionPublic | None = None  # the newest version that passes verification

    @property
    def description(self) -> str:
        return self.current.description if self.current else ""

    @property
    def scope(self) -> str | None:
        name = self.package.name
        return name[1:].split("/", 1)[0] if name.startswith("@") and "/" in name else None


def _advisories(rows: list[VersionRow]) -> list[AffectingAdvisory]:
    found: dict[str, AffectingAdvisory] = {}
    for row in rows:
        for adv in row.doc.advisories:
            entry = found.setdefault(adv["id"], AffectingAdvisory(
                id=adv["id"], summary=adv.get("summary") or "", severity=adv.get("severity"),
                malicious=bool(adv.get("malicious"))))
            entry.versions.append(row.doc.version)
    return sorted(found.values(),
                  key=lambda a: (not a.malicious, _SEVERITY_ORDER.get(a.severity or "", 9), a.id))


def package_page(session: Session, name: str, *, public_log: bool = True) -> PackagePage:
    """Everything the package page shows. Raises ``PackageNotFound`` for an unknown name.
    ``public_log``: the registry trusts Sigstore's public-good log, so log indexes link to
    its search (not for staging or a private trust root)."""
    package = pkgs.get_package(session, name)
    document = package_document(session, package)
    docs = [version_document(session, package, row)
            for row in reversed(pkgs.list_versions(session, package))]
    owners = _key_owners(session, docs)
    rows = [VersionRow(doc, describe_signer(doc.signer, _owner_of(doc, owners),
                                            public_log=public_log))
            for doc in docs]
    current = next((r.doc for r in rows if r.doc.version == document.latest), None)
    if current is None and rows:
        current = rows[0].doc
    return PackagePage(package=document, current=current, versions=rows,
                       advisories=_advisories(rows), recommended=recommended_version(docs))


def passes_verification(doc: VersionPublic) -> bool:
    """What `vouch verify` checks by default, as far as the documents tell: signed, served,
    not deprecated, not quarantined, no advisory affecting it."""
    return (doc.signer is not None and doc.artifact_url is not None and not doc.unpublished
            and not doc.quarantined and not doc.deprecated and not doc.advisories)


def recommended_version(docs: list[VersionPublic]) -> VersionPublic | None:
    """The newest version (``docs`` newest first) that passes verification, a release before
    any pre-release; None when no version passes."""
    passing = [d for d in docs if passes_verification(d)]
    releases = [d for d in passing if "-" not in d.version.split("+", 1)[0]]
    best = releases or passing
    return best[0] if best else None


def _key_owner_id(doc: VersionPublic) -> int | None:
    identity = doc.signer.identity if doc.signer is not None else None
    if doc.signer is None or doc.signer.method != "gpg" or not isinstance(identity, dict):
        return None
    owner = identity.get("key_owner_id")
    return owner if isinstance(owner, int) and not isinstance(owner, bool) else None


def _key_owners(session: Session, docs: list[VersionPublic]) -> dict[int, str]:
    """Account names of the GPG keys' owners, one query."""
    ids = {i for i in (_key_owner_id(d) for d in docs) if i is not None}
    if not ids:
        return {}
    return {u.id: u.name for u in session.exec(select(User).where(col(User.id).in_(ids)))
            if u.id is not None}


def _owner_of(doc: VersionPublic, owners: dict[int, str]) -> str | None:
    owner_id = _key_owner_id(doc)
    return owners.get(owner_id) if owner_id is not None else None


@dataclass(frozen=True)
class AffectedPackage:
    ecosystem: str
    name: str
    local: bool  # a package of this registry (OSV ecosystem "Vouch"): linked to its page
    ranges: list[str]
    versions: list[str]


@dataclass(frozen=True)
class AdvisoryView:
    advisory: AdvisoryPublic
    details: str
    affected: list[AffectedPackage]
    references: list[tuple[str, str]]  # (type, url)

    @property
    def details_html(self) -> Markup:
        """The details (OSV: CommonMark) rendered safely: no raw HTML, no unsafe links."""
        return render_markdown(self.details)


def _range_text(events: list[dict[str, Any]]) -> str:
    parts = []
    for event in events:
        for key in ("introduced", "fixed", "last_affected", "limit"):
            if key in event:
                value = str(event[key])
                parts.append("from the start" if key == "introduced" and value == "0"
                             else f"{key.replace('_', ' ')} {value}")
    return ", ".join(parts)


def _affected(record: dict[str, Any]) -> list[AffectedPackage]:
    result = []
    for entry in record.get("affected") or []:
        package = entry.get("package") or {}
        ecosystem, name = str(package.get("ecosystem", "")), str(package.get("name", ""))
        ranges = [f"{r.get('type', '')}: {_range_text(r.get('events') or [])}"
                  for r in entry.get("ranges") or []]
        result.append(AffectedPackage(
            ecosystem=ecosystem, name=name, local=ecosystem == LOCAL_OSV_ECOSYSTEM,
            ranges=ranges, versions=[str(v) for v in entry.get("versions") or []]))
    return result


def advisory_view(advisory: AdvisoryPublic) -> AdvisoryView:
    """The advisory page's content from the API's public model (with its OSV record)."""
    record = advisory.record or {}
    references = [(str(ref.get("type", "WEB")), str(ref.get("url", "")))
                  for ref in record.get("references") or [] if isinstance(ref, dict)]
    return AdvisoryView(advisory=advisory, details=str(record.get("details") or ""),
                        affected=_affected(record), references=references)
