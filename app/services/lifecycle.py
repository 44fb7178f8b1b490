"""Unpublish (only inside the grace window), deprecate and undeprecate.

    lifecycle.unpublish(principal, "left-pad", "1.0.0")

Unpublish tombstones the version (its number stays burned), deletes its file rows, and removes
blobs that no other file references, after the transaction commits. Past the grace window it
raises ``UnpublishWindowClosed``, telling the caller to deprecate instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.clock import Clock, as_utc
from app.db import session_scope
from app.errors import UnpublishWindowClosed, VersionGone
from app.models import PackageBlob, PackageFile, PackageVersion, Provenance
from app.names import parse_package_name
from app.services import packages as pkgs
from app.services.accounts import Principal
from app.services.records import audit, enqueue
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

    def unpublish(self, principal: Principal, name: str, version: str) -> None:
        parse_package_name(name)
        now = self.clock.now()
        orphaned: list[str] = []
        with session_scope(self.engine, write=True) as session:
            package = pkgs.get_package(session, name)
            row = pkgs.get_version(session, package, version)
            pkgs.require_owner(session, package, principal, "unpublish")
            if row.unpublished_at is not None:
                raise VersionGone(name, version)
            published_at = as_utc(row.published_at)
            if now - published_at > self.grace:
                raise UnpublishWindowClosed(name, version, published_at, self.grace)
            row.unpublished_at = now
            session.add(row)
            digests = self._drop_files(session, row)
            orphaned = self._drop_unreferenced_blobs(session, digests)
            audit(session, at=now, actor=principal.name, action="version:unpublish",
                  package=name, version=version, sha256=digests, blobs_deleted=orphaned)
            enqueue(session, at=now, kind="search.reindex", package=name)
        self.on_change(name)
        for digest in orphaned:  # after commit: a failed transaction must not lose bytes
            self.blobs.delete(digest)

    def _drop_files(self, session: Session, row: PackageVersion) -> list[str]:
        digests: list[str] = []
        files = session.exec(select(PackageFile).where(PackageFile.version_id == row.id)).all()
        for file in files:
            blob = session.get(PackageBlob, file.blob_id)
            if blob is not None:
                digests.append(blob.sha256)
            for prov in session.exec(select(Provenance).where(Provenance.file_id == file.id)):
                session.delete(prov)
            session.delete(file)
        session.flush()
        return digests

    def _drop_unreferenced_blobs(self, session: Session, digests: list[str]) -> list[str]:
        orphaned: list[str] = []
        for digest in digests:
            blob = session.exec(select(PackageBlob).where(PackageBlob.sha256 == digest)).first()
            if blob is None:
                continue
            still_used = session.exec(
                select(PackageFile.id).where(PackageFile.blob_id == blob.id)).first()
            if still_used is None:
                session.delete(blob)
                orphaned.append(digest)
        return orphaned

    def set_deprecation(self, principal: Principal, name: str, version: str,
                        message: str | None) -> PackageVersion:
        """Deprecate (``message``) or undeprecate (``None``); allowed at any time."""
        parse_package_name(name)
        now = self.clock.now()
        with session_scope(self.engine, write=True) as session:
            package = pkgs.get_package(session, name)
            row = pkgs.get_version(session, package, version)
            pkgs.require_owner(session, package, principal, "deprecate")
            if row.unpublished_at is not None:
                raise VersionGone(name, version)
            row.deprecated = message
            session.add(row)
            audit(session, at=now, actor=principal.name,
                  action="version:deprecate" if message else "version:undeprecate",
                  package=name, version=version, message=message)
            enqueue(session, at=now, kind="search.reindex", package=name)
        self.on_change(name)
        return row
