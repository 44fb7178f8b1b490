"""Build search documents from the database (the source of truth).

    doc = package_search_document(session, "left-pad")   # None if the package is gone
    for doc in all_search_documents(session): ...

Recent downloads: the registry counts downloads per version without time buckets yet, so
``downloads_recent`` carries the downloads of the latest version (a proxy for current use).
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlmodel import Session, col, func, select

from app.advisories.service import advisories_for_version
from app.core.clock import as_utc
from app.core.models import Package, PackageFile, PackageOwner, Provenance, User
from app.publishing import packages as pkgs
from app.publishing.documents import latest_version
from search import PackageDocument


def package_search_document(session: Session, name: str) -> PackageDocument | None:
    package = pkgs.find_package(session, name)
    if package is None:
        return None
    return _document(session, package)


def all_search_documents(session: Session) -> Iterator[PackageDocument]:
    for package in session.exec(select(Package).order_by(col(Package.id))):
        doc = _document(session, package)
        if doc is not None:
            yield doc


def download_totals(session: Session, names: list[str]) -> dict[str, tuple[int, int]]:
    result: dict[str, tuple[int, int]] = {}
    for name in names:
        package = pkgs.find_package(session, name)
        if package is None:
            continue
        rows = pkgs.list_versions(session, package)
        latest = latest_version(rows)
        result[name] = (sum(r.downloads for r in rows), latest.downloads if latest else 0)
    return result


def _document(session: Session, package: Package) -> PackageDocument | None:
    rows = pkgs.list_versions(session, package)
    latest = latest_version(rows)
    if latest is None:  # every version unpublished: nothing to find
        return None
    owners = session.exec(select(User.name).join(PackageOwner, col(PackageOwner.user_id) == User.id)
                          .where(PackageOwner.package_id == package.id)).all()
    verified = session.exec(
        select(func.count()).select_from(Provenance)
        .join(PackageFile, col(PackageFile.id) == Provenance.file_id)
        .where(PackageFile.version_id == latest.id)).one() > 0
    # The flag means "the version people get today is affected", not "ever had one".
    advisories = bool(advisories_for_version(session, package.ecosystem, package.name,
                                             latest.version))
    return PackageDocument(
        name=package.name, description=latest.description[:10_000],
        keywords=tuple(latest.keywords[:50]),
        maintainers=tuple(sorted({*owners, latest.published_by}))[:50],
        latest_version=latest.version,
        downloads_total=sum(r.downloads for r in rows), downloads_recent=latest.downloads,
        deprecated=latest.deprecated is not None,
        quarantined=package.status == "quarantined" or latest.quarantined_at is not None,
        has_advisories=advisories, verified_publisher=verified,
        updated_at=as_utc(latest.published_at),
    )
