"""npm dist-tags: ``npm dist-tag add|rm|ls`` (``/-/package/{name}/dist-tags[/{tag}]``).

    tags = DistTags(engine, clock)
    tags.add(principal, "left-pad", "beta", "1.1.0-rc.1")   # owners only; an audit event
    tags.remove(principal, "left-pad", "beta")
    offered(session, package, live)                          # what packuments show

A tag names a version row (table ``npm_dist_tags``, migration 0014, whose triggers raise the
package's read generation: a packument cached on any replica is re-rendered at its next read).
What is offered: every stored tag whose version is live (not unpublished, not quarantined),
and ``latest``, which is the stored one when an owner set it and its version is live, and
otherwise the highest live release (the highest pre-release when there is none). Removing
``latest`` returns it to that default.

Refusals: 403 ``forbidden`` (not an owner, or a token without ``publish``), 404
``not_found`` (no such package, version or tag), 400 ``invalid_metadata`` (a tag that is a
SemVer range, too long or not URL-safe; a body that is not a JSON string), 410
``version_unpublished`` / 403 ``version_quarantined`` for a version that cannot be offered.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Column, DateTime, UniqueConstraint
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from app.accounts.service import Principal
from app.core.clock import Clock
from app.core.db import session_scope
from app.core.errors import InvalidMetadata, NotFound, VersionGone, VersionQuarantined
from app.core.models import Package, PackageVersion
from app.core.records import audit
from app.publishing import ownership
from app.publishing import packages as pkgs
from app.publishing.versioning import parse_range
from versions.semver import Version

ECOSYSTEM = "npm"
LATEST = "latest"
MAX_TAG_LENGTH = 128
_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]*$")


class NpmDistTag(SQLModel, table=True):
    __tablename__ = "npm_dist_tags"
    __table_args__ = (UniqueConstraint("package_id", "tag", name="uq_npm_dist_tag"),)

    id: int | None = Field(default=None, primary_key=True)
    package_id: int = Field(foreign_key="packages.id")
    tag: str = Field(max_length=MAX_TAG_LENGTH)
    version_id: int = Field(foreign_key="package_versions.id")
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


def check_tag(tag: str) -> str:
    """The tag, or ``InvalidMetadata``: npm refuses tags that are SemVer ranges (``1.x``,
    ``v2``), as ``npm install name@tag`` could not tell them apart."""
    if not tag or len(tag) > MAX_TAG_LENGTH or not _TAG.match(tag):
        raise InvalidMetadata(f"{tag[:MAX_TAG_LENGTH]!r} is not a valid dist-tag (letters, "
                              f"digits, . _ ~ -, at most {MAX_TAG_LENGTH} characters)")
    if parse_range(tag) is None:
        return tag
    raise InvalidMetadata(f"Tag name must not be a valid SemVer range: {tag}")


def version_of_body(body: bytes) -> str:
    """``npm dist-tag add`` sends the version as a JSON string."""
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise InvalidMetadata("the body must be the version as a JSON string") from err
    if not isinstance(value, str) or not value:
        raise InvalidMetadata("the body must be the version as a JSON string")
    return value


def offered(session: Session, package: Package, live: Iterable[PackageVersion]) -> dict[str, str]:
    """The dist-tags a packument shows, given the package's live versions."""
    by_id = {row.id: row.version for row in live}
    tags = {tag.tag: by_id[tag.version_id]
            for tag in session.exec(select(NpmDistTag).where(
                NpmDistTag.package_id == package.id)).all()
            if tag.version_id in by_id}
    if LATEST not in tags:
        default = default_latest(by_id.values())
        if default is not None:
            tags[LATEST] = default
    return {LATEST: tags.pop(LATEST), **dict(sorted(tags.items()))} if LATEST in tags else tags


def default_latest(versions: Iterable[str]) -> str | None:
    """The highest release, or the highest pre-release when there is none."""
    parsed = [Version.parse(v) for v in versions]
    releases = [v for v in parsed if not v.is_prerelease]
    best = max(releases or parsed, default=None)
    return str(best) if best is not None else None


class DistTags:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def add(self, principal: Principal, name: str, tag: str, version: str) -> None:
        """Point ``tag`` at ``version`` (a live version of the package)."""
        check_tag(tag)
        now = self.clock.now()
        with session_scope(self.engine, write=True) as session:
            package = pkgs.get_package(session, name, ECOSYSTEM)
            ownership.require_owner(session, package, principal, "publish")
            row = pkgs.get_version(session, package, version)
            if row.unpublished_at is not None:
                raise VersionGone(name, version)
            if row.quarantined_at is not None or package.status == "quarantined":
                raise VersionQuarantined(name, version, row.quarantine_reason)
            assert row.id is not None
            previous = point(session, package, tag, row.id, now)
            audit(session, at=now, actor=principal.name, action="npm:dist-tag-add",
                  package=name, version=version, tag=tag, ecosystem=ECOSYSTEM,
                  previous=_version_text(session, previous))

    def remove(self, principal: Principal, name: str, tag: str) -> None:
        """Remove ``tag``; ``NotFound`` when it is not set (``latest``: back to the default)."""
        now = self.clock.now()
        with session_scope(self.engine, write=True) as session:
            package = pkgs.get_package(session, name, ECOSYSTEM)
            ownership.require_owner(session, package, principal, "publish")
            stored = _stored(session, package, tag)
            if stored is None:
                raise NotFound(f"{name} has no dist-tag {tag[:MAX_TAG_LENGTH]!r}", package=name)
            version = _version_text(session, stored.version_id)
            session.delete(stored)
            audit(session, at=now, actor=principal.name, action="npm:dist-tag-rm",
                  package=name, version=version, tag=tag, ecosystem=ECOSYSTEM)


def point(session: Session, package: Package, tag: str, version_id: int,
          now: datetime) -> int | None:
    """Point ``tag`` at ``version_id`` in the caller's transaction; the version it named
    before, if any. The unique (package, tag) decides concurrent first adds: the loser
    updates the winner's row."""
    assert package.id is not None
    stored = _stored(session, package, tag)
    if stored is None:
        try:
            with session.begin_nested():
                session.add(NpmDistTag(package_id=package.id, tag=tag, version_id=version_id,
                                       updated_at=now))
                session.flush()
            return None
        except IntegrityError:
            stored = _stored(session, package, tag)
            if stored is None:
                raise
    previous = stored.version_id
    stored.version_id, stored.updated_at = version_id, now
    session.add(stored)
    return previous


def _stored(session: Session, package: Package, tag: str) -> NpmDistTag | None:
    return session.exec(select(NpmDistTag).where(NpmDistTag.package_id == package.id,
                                                 NpmDistTag.tag == tag)).first()


def _version_text(session: Session, version_id: int | None) -> str | None:
    if version_id is None:
        return None
    row = session.get(PackageVersion, version_id)
    return row.version if row is not None else None
