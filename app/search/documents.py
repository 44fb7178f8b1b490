"""Build search documents from the database (the source of truth).

    doc = package_search_document(session, "left-pad")   # None if the package is gone
    docs = search_documents(session, [("generic", "left-pad"), ("pypi", "requests")])
    # {(ecosystem, name): doc or None}
    for doc in all_search_documents(session): ...

Every format is indexed: native packages (ecosystem ``generic``), Python (``pypi``) and npm
(``npm``) packages; a document's ``ecosystem`` says which, and the index keys it by
(ecosystem, name) (``search.document_id``).

``search_documents`` builds many documents with a fixed number of queries per chunk of names
(packages, versions, owners, signed latest versions, names with advisory rows), not five per
package: the outbox worker re-indexes a burst of publishes in one go (issue 13). It gives
exactly what ``package_search_document`` gives for each name.

Recent downloads: the registry counts downloads per version without time buckets yet, so
``downloads_recent`` carries the downloads of the latest version (a proxy for current use).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence

from packaging.version import Version as Pep440Version
from sqlmodel import Session, col, select

from advisories.ecosystems import normalize_name, osv_ecosystem
from app.advisories.service import advisories_for_version
from app.core.clock import as_utc
from app.core.models import (
    AdvisoryPackage,
    Package,
    PackageFile,
    PackageOwner,
    PackageVersion,
    Provenance,
    User,
)
from app.publishing.documents import latest_version
from search import PackageDocument, document_id

#: Names per batch of queries (well under SQLite's and PostgreSQL's bound-parameter limits).
CHUNK = 500
#: The formats whose packages are searchable (every format the registry hosts).
ECOSYSTEMS = ("generic", "pypi", "npm")

Ref = tuple[str, str]  # (ecosystem, name as stored)


def package_search_document(session: Session, name: str,
                            ecosystem: str = "generic") -> PackageDocument | None:
    return search_documents(session, [(ecosystem, name)])[(ecosystem, name)]


def search_documents(session: Session, refs: Iterable[Ref]) -> dict[Ref, PackageDocument | None]:
    """The current document of each (ecosystem, name); None where the package does not exist
    or has no version left to find (every version unpublished). Raises database errors."""
    result: dict[Ref, PackageDocument | None] = {}
    wanted = sorted(set(refs))
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start:start + CHUNK]
        result.update(dict.fromkeys(chunk))
        packages = [p for p in session.exec(select(Package).where(
            col(Package.name).in_(sorted({name for _, name in chunk})))).all()
            if (p.ecosystem, p.name) in result]
        for package, doc in zip(packages, _documents(session, packages), strict=True):
            result[(package.ecosystem, package.name)] = doc
    return result


def refs_named(session: Session, names: Iterable[str]) -> list[Ref]:
    """(ecosystem, name) of every searchable package called one of ``names`` (any format)."""
    wanted = sorted(set(names))
    found: list[Ref] = []
    for start in range(0, len(wanted), CHUNK):
        found += [(eco, name) for eco, name in session.exec(
            select(Package.ecosystem, Package.name).where(
                col(Package.ecosystem).in_(ECOSYSTEMS),
                col(Package.name).in_(wanted[start:start + CHUNK])))]
    return found


def all_search_documents(session: Session) -> Iterator[PackageDocument]:
    last = 0
    while True:
        packages = session.exec(select(Package).where(
            col(Package.id) > last, col(Package.ecosystem).in_(ECOSYSTEMS))
            .order_by(col(Package.id)).limit(CHUNK)).all()
        if not packages:
            return
        yield from (doc for doc in _documents(session, packages) if doc is not None)
        last = packages[-1].id or 0


def download_totals(session: Session, names: list[str]) -> dict[str, tuple[int, int]]:
    """(downloads of all versions, downloads of the latest) per existing package called one
    of ``names`` in any format, keyed by its index identity (``search.document_id``)."""
    result: dict[str, tuple[int, int]] = {}
    wanted = sorted(set(names))
    for start in range(0, len(wanted), CHUNK):
        packages = session.exec(select(Package).where(
            col(Package.ecosystem).in_(ECOSYSTEMS),
            col(Package.name).in_(wanted[start:start + CHUNK]))).all()
        versions = _versions(session, packages)
        for package in packages:
            rows = versions[package.id]
            latest = _latest(package, rows)
            result[document_id(package.name, package.ecosystem)] = (
                sum(r.downloads for r in rows), latest.downloads if latest else 0)
    return result


def _latest(package: Package, rows: list[PackageVersion]) -> PackageVersion | None:
    """The version a search result shows: ``latest_version``'s rule (highest available
    release; pre-releases and deprecated versions only as a fallback), with pre-releases
    told by the format's own version rules (PEP 440 for Python, SemVer otherwise)."""
    if package.ecosystem != "pypi":
        return latest_version(rows)
    live = [r for r in rows if r.unpublished_at is None and r.quarantined_at is None]
    releases = [r for r in live if not Pep440Version(r.version).is_prerelease]
    for chosen in ([r for r in releases if not r.deprecated], releases, live):
        if chosen:
            return chosen[-1]  # rows are in ascending precedence (the format's sort key)
    return None


def _versions(session: Session,
              packages: Sequence[Package]) -> dict[int | None, list[PackageVersion]]:
    """Every version of each package, tombstones included, in ascending precedence (as
    ``packages.list_versions`` orders them)."""
    by_package: dict[int | None, list[PackageVersion]] = defaultdict(list)
    if packages:
        for row in session.exec(select(PackageVersion).where(
                col(PackageVersion.package_id).in_([p.id for p in packages]))
                .order_by(col(PackageVersion.package_id), col(PackageVersion.sort_key))):
            by_package[row.package_id].append(row)
    return by_package


def _documents(session: Session, packages: Sequence[Package]) -> list[PackageDocument | None]:
    """The documents of ``packages`` (at most ``CHUNK``), in their order."""
    if not packages:
        return []
    ids = [p.id for p in packages]
    versions = _versions(session, packages)
    latest = {p.id: _latest(p, versions[p.id]) for p in packages}
    owners: dict[int | None, set[str]] = defaultdict(set)
    for package_id, user in session.exec(
            select(PackageOwner.package_id, User.name)
            .join(User, col(User.id) == PackageOwner.user_id)
            .where(col(PackageOwner.package_id).in_(ids))):
        owners[package_id].add(user)
    latest_ids = [v.id for v in latest.values() if v is not None]
    signed = set(session.exec(
        select(PackageFile.version_id).distinct()
        .join(Provenance, col(Provenance.file_id) == PackageFile.id)
        .where(col(PackageFile.version_id).in_(latest_ids))).all()) if latest_ids else set()
    # Only names the advisory tables mention can be affected; those are checked exactly.
    keys: dict[int | None, tuple[str, str]] = {}
    for package in packages:
        osv_name = osv_ecosystem(package.ecosystem)
        keys[package.id] = (osv_name, normalize_name(osv_name, package.name))
    mentioned = {(eco, name) for eco, name in session.exec(
        select(AdvisoryPackage.ecosystem, AdvisoryPackage.name).distinct()
        .where(col(AdvisoryPackage.name).in_(sorted({k[1] for k in keys.values()}))))}
    docs: list[PackageDocument | None] = []
    for package in packages:
        chosen = latest[package.id]
        if chosen is None:  # every version unpublished: nothing to find
            docs.append(None)
            continue
        rows = versions[package.id]
        # The flag means "the version people get today is affected", not "ever had one".
        affected = keys[package.id] in mentioned and bool(advisories_for_version(
            session, package.ecosystem, package.name, chosen.version))
        docs.append(PackageDocument(
            name=package.name, description=chosen.description[:10_000],
            keywords=tuple(chosen.keywords[:50]),
            maintainers=tuple(sorted({*owners[package.id], chosen.published_by}))[:50],
            latest_version=chosen.version,
            downloads_total=sum(r.downloads for r in rows), downloads_recent=chosen.downloads,
            deprecated=chosen.deprecated is not None,
            quarantined=package.status == "quarantined" or chosen.quarantined_at is not None,
            has_advisories=affected, verified_publisher=chosen.id in signed,
            updated_at=as_utc(chosen.published_at), ecosystem=package.ecosystem,
        ))
    return docs
