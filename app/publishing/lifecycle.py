"""Unpublish (only inside the grace window), deprecate and undeprecate.

    lifecycle.unpublish(principal, "left-pad", "1.0.0")

Unpublish tombstones the version (its number stays burned: the row and its unique
(package, version) stay) and stops serving its files. Past the grace window it raises
``UnpublishWindowClosed``, telling the caller to deprecate instead; a version already
unpublished raises ``VersionGone`` (410).

What stays, and why (issue 10): the version's file rows, the ``package_blobs`` digest record
and the provenance (the raw Sigstore bundle or GPG signature and the identity verified at
publish time) all stay, as audit evidence of what was published, by whom and with which
digest; the provenance endpoint keeps answering for an unpublished version. Only the stored
bytes go, and only when no file of a live version shares them. Deleting the provenance instead
would erase the record of who signed a version that consumers may already have installed; it
also used to make every signed unpublish a 500 (the provenance row referenced the file row).

Races, decided by the database:
- concurrent unpublishes of one version: a conditional ``UPDATE ... WHERE unpublished_at IS
  NULL``; exactly one matches its row, the others raise ``VersionGone``, one audit event;
- a publish of the same bytes as another version: ``app.publishing.blob_refs`` (the digest lock
  and the reference re-check inside this transaction; bytes destroyed only after commit).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.accounts.service import Principal
from app.core.clock import Clock, as_utc
from app.core.db import session_scope
from app.core.errors import UnpublishWindowClosed, VersionGone
from app.core.models import PackageBlob, PackageFile, PackageVersion
from app.core.records import audit, enqueue
from app.publishing import ownership
from app.publishing import packages as pkgs
from app.publishing.blob_refs import BlobReleases
from app.publishing.names import parse_package_name
from app.storage import BlobStore

log = logging.getLogger("vouch.lifecycle")


class LifecycleService:
    def __init__(self, *, engine: Engine, blobs: BlobStore, clock: Clock, grace: timedelta,
                 on_change: Callable[[str], None] | None = None) -> None:
        self.on_change = on_change or (lambda _: None)
        self.engine = engine
        self.blobs = blobs
        self.clock = clock
        self.grace = grace

    def unpublish(self, principal: Principal, name: str, version: str, *,
                  ecosystem: str = "generic") -> None:
        """Tombstone ``name@version`` and release bytes no live version shares.

        Raises ``NotFound`` (package/version), ``Forbidden`` (not an owner), ``VersionGone``
        (already unpublished, including by a concurrent request that won) or
        ``UnpublishWindowClosed``. On any failure nothing changes: set-aside bytes go back.
        """
        if ecosystem == "generic":  # other formats pass their canonical name
            parse_package_name(name)
        now = self.clock.now()
        releases = BlobReleases(self.blobs)
        try:
            with session_scope(self.engine, write=True) as session:
                package = pkgs.get_package(session, name, ecosystem)
                row = pkgs.get_version(session, package, version)
                ownership.require_owner(session, package, principal, "unpublish")
                if row.unpublished_at is not None:
                    raise VersionGone(name, version)
                published_at = as_utc(row.published_at)
                if now - published_at > self.grace:
                    raise UnpublishWindowClosed(name, version, published_at, self.grace)
                self._tombstone(session, row, now, name, version)
                digests = _file_digests(session, row)
                deleted = releases.release_unreferenced(session, digests)
                audit(session, at=now, actor=principal.name, action="version:unpublish",
                      package=name, version=version, sha256=digests, blobs_deleted=deleted,
                      **_ecosystem_field(ecosystem))
                enqueue(session, at=now, kind="search.reindex", package=name,
                        **_ecosystem_field(ecosystem))
        except BaseException:
            releases.undo()
            raise
        releases.finish()
        self.on_change(name)

    @staticmethod
    def _tombstone(session: Session, row: PackageVersion, now: datetime, name: str,
                   version: str) -> None:
        """The conditional update decides concurrent unpublishes (PostgreSQL re-evaluates the
        condition after waiting on the row lock); the loser raises ``VersionGone``."""
        result = session.execute(
            update(PackageVersion)
            .where(col(PackageVersion.id) == row.id, col(PackageVersion.unpublished_at).is_(None))
            .values(unpublished_at=now))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise VersionGone(name, version)

    def set_deprecation(self, principal: Principal, name: str, version: str,
                        message: str | None, *, ecosystem: str = "generic") -> PackageVersion:
        """Deprecate (``message``) or undeprecate (``None``); allowed at any time. A
        deprecated Python release is yanked (PEP 592), its message the yank reason."""
        if ecosystem == "generic":
            parse_package_name(name)
        now = self.clock.now()
        with session_scope(self.engine, write=True) as session:
            package = pkgs.get_package(session, name, ecosystem)
            row = pkgs.get_version(session, package, version)
            ownership.require_owner(session, package, principal, "deprecate")
            if row.unpublished_at is not None:
                raise VersionGone(name, version)
            row.deprecated = message
            session.add(row)
            audit(session, at=now, actor=principal.name,
                  action="version:deprecate" if message else "version:undeprecate",
                  package=name, version=version, message=message,
                  **_ecosystem_field(ecosystem))
            enqueue(session, at=now, kind="search.reindex", package=name,
                    **_ecosystem_field(ecosystem))
        self.on_change(name)
        return row


def _ecosystem_field(ecosystem: str) -> dict[str, str]:
    """Audit and outbox records name a non-native ecosystem (native records stay as they were)."""
    return {} if ecosystem == "generic" else {"ecosystem": ecosystem}


def _file_digests(session: Session, row: PackageVersion) -> list[str]:
    return sorted(session.exec(
        select(PackageBlob.sha256)
        .join(PackageFile, col(PackageFile.blob_id) == PackageBlob.id)
        .where(PackageFile.version_id == row.id)).all())
