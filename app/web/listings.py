"""What the home page and ``/advisories`` list: recent and popular packages, advisories.

    home = home_listings(session, advisories)       # HomeListings
    rows = published_advisories(advisories, page=1) # newest first, withdrawn ones included

Only what anyone may read: packages that are not quarantined, versions that are live (not
unpublished, not quarantined), published advisories (never drafts). Two small queries per
package list; the advisory list is the advisory service's, for an anonymous reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.advisories.schemas import AdvisoryPublic
from app.advisories.service import AdvisoryService, ListFilters
from app.core.clock import as_utc
from app.core.models import Package, PackageVersion

HOME_ROWS = 8
ADVISORIES_PAGE = 50


@dataclass(frozen=True)
class PackageItem:
    name: str
    version: str | None
    published_at: datetime | None
    downloads: int


@dataclass(frozen=True)
class HomeListings:
    recent: list[PackageItem]
    popular: list[PackageItem]
    advisories: list[AdvisoryPublic]


def _live() -> list[Any]:
    return [col(PackageVersion.unpublished_at).is_(None),
            col(PackageVersion.quarantined_at).is_(None), Package.status != "quarantined",
            PackageVersion.package_id == Package.id]


def recently_published(session: Session, limit: int = HOME_ROWS) -> list[PackageItem]:
    """The latest live version of each package, most recently published first (ids grow with
    publishing, so they also order versions published within the same instant)."""
    newest = (select(func.max(PackageVersion.id).label("id"))
              .join(Package, col(Package.id) == col(PackageVersion.package_id))
              .where(*_live()).group_by(col(PackageVersion.package_id)).subquery())
    rows = session.exec(
        select(Package.name, PackageVersion.version, PackageVersion.published_at)
        .join(Package, col(Package.id) == col(PackageVersion.package_id))
        .where(col(PackageVersion.id).in_(select(newest.c.id)))
        .order_by(col(PackageVersion.id).desc()).limit(limit)).all()
    return [PackageItem(name, version, as_utc(at), 0) for name, version, at in rows]


def most_downloaded(session: Session, limit: int = HOME_ROWS) -> list[PackageItem]:
    """Packages by downloads of their live versions, most first (those with any)."""
    total = func.sum(PackageVersion.downloads)
    rows = session.exec(
        select(Package.name, total).where(*_live()).group_by(col(Package.name))
        .having(total > 0).order_by(total.desc(), col(Package.name)).limit(limit)).all()
    return [PackageItem(name, None, None, int(count)) for name, count in rows]


def published_advisories(advisories: AdvisoryService, *, limit: int = ADVISORIES_PAGE,
                         offset: int = 0) -> list[AdvisoryPublic]:
    """Published (and withdrawn) advisories, newest change first; never drafts."""
    return advisories.list_advisories(None, ListFilters(limit=limit, offset=offset))


def home_listings(session: Session, advisories: AdvisoryService) -> HomeListings:
    return HomeListings(recent=recently_published(session), popular=most_downloaded(session),
                        advisories=[a for a in published_advisories(advisories, limit=HOME_ROWS)
                                    if a.withdrawn is None])
