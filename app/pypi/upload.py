"""Uploads through the legacy API (``POST /legacy/``, as twine and ``uv publish`` send them).

    outcome = uploads.upload(form, principal)     # UploadOutcome(published or None, message)

Steps: the form (``:action=file_upload``, ``protocol_version=1``, a digest), the filename
(``formats.pypi.filenames``), the token's scope, then the bytes are staged under the size
limit and hashed; every digest sent must match; the core metadata inside the file must agree
with its filename and with the form's ``name``/``version``/``filetype``. An identical re-upload
(same filename, same sha256) is a no-op; different bytes under an existing filename are 409
``file_exists``; a second sdist of a release is 400 ``sdist_exists``; an unpublished release
is burned (409 ``version_burned``). The rest is ``PublishService.publish_staged``: ownership,
trusted publishers, the signature policy (a GPG ``.asc`` as for native publishes, PEP 740
attestations through ``app.pypi.attestations``), blob storage and one
recording transaction. A refused upload leaves no blob, no row and no audit event.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts.service import Principal, authenticate
from app.core.db import session_scope
from app.core.errors import (
    DeclaredDigestMismatch,
    DomainError,
    MalformedInput,
    PayloadTooLarge,
    VersionBurned,
)
from app.core.models import Package, PackageBlob, PackageFile, PackageVersion
from app.publishing import ownership
from app.publishing import packages as pkgs
from app.publishing.lifecycle import LifecycleService
from app.publishing.names import PackageName
from app.publishing.publish import FilePlan, Published, PublishService, VersionFields
from app.publishing.staging import Staged, check_declared_digest, stage
from app.pypi.attestations import AttestationSignatureChecker, UploadEvidence
from app.pypi.errors import FileExists, InvalidUpload, SdistExists, from_format
from app.trust.signatures import PolicySignatureChecker
from formats.errors import FormatError
from formats.pypi import names as pypi_names
from formats.pypi.filenames import SDIST, DistFilename, parse_filename
from formats.pypi.metadata import (
    CoreMetadata,
    check_consistency,
    parse_core_metadata,
    read_core_metadata,
)

ECOSYSTEM = "pypi"
#: The refusal of an unsigned upload names what twine and uv send.
HOW_TO_SIGN = ("upload PEP 740 attestations from a trusted publisher (`twine upload "
               "--attestations`, `uv publish` from GitHub Actions) or a detached GPG signature "
               "of the file by a registered key (`gpg --detach-sign --armor FILE`, then "
               "`twine upload FILE FILE.asc`)")
_REPOSITORY_LABELS = ("source", "source code", "repository", "code", "github", "homepage")


@dataclass(frozen=True)
class UploadForm:
    """The legacy upload's fields (text fields as sent; ``None`` when absent)."""

    content: BinaryIO
    filename: str
    action: str | None = None
    protocol_version: str | None = None
    name: str | None = None
    version: str | None = None
    filetype: str | None = None
    sha256_digest: str | None = None
    md5_digest: str | None = None
    blake2_256_digest: str | None = None
    gpg_signature: bytes | None = None
    attestations: bytes | None = None


@dataclass(frozen=True)
class UploadOutcome:
    filename: str
    published: Published | None  # None: an identical file was already there (no-op)


class PyPIUploadService:
    """Uploads (``upload``), the Basic ``__token__`` login twine and uv use
    (``authenticate``), and the lifecycle of releases (``unpublish``, ``set_yank``) found by
    PEP 440 equality. Built once by ``Registry.build``."""

    def __init__(self, publish: PublishService, engine: Engine,
                 lifecycle: LifecycleService | None = None) -> None:
        self.publish = publish
        self.engine = engine
        self.lifecycle = lifecycle
        policy = publish.signatures
        assert isinstance(policy, PolicySignatureChecker)  # what Registry.build constructs
        # GPG .asc as native publishes; PEP 740 attestations (app.pypi.attestations).
        self.signatures = AttestationSignatureChecker.around(policy)

    def upload(self, form: UploadForm, principal: Principal) -> UploadOutcome:
        """Raises ``InvalidUpload``, ``InvalidFilename``, ``InvalidDistribution``,
        ``MetadataMismatch``, ``DeclaredDigestMismatch``, ``PayloadTooLarge``, ``Forbidden``,
        ``FileExists``, ``SdistExists``, ``VersionBurned`` and the signature errors."""
        _check_form(form)
        dist = _parse(form.filename)
        name = PackageName(scope=None, base=dist.name)
        ownership.require_action(principal, "publish", name.full)
        limit = self.publish.max_upload_bytes
        try:
            with stage(form.content, limit=limit, directory=self.publish.staging_dir) as staged:
                _check_digests(staged, form)
                raw, meta = _read_metadata(staged.path, dist, form)
                if self._identical_exists(dist, staged):
                    return UploadOutcome(filename=form.filename, published=None)
                plan = _plan(dist, name, meta, raw, now=self.publish.clock.now())
                evidence = UploadEvidence(gpg_signature=form.gpg_signature,
                                          attestations=form.attestations,
                                          how_to_sign=HOW_TO_SIGN)
                published = self.publish.publish_staged(plan, staged, evidence, principal,
                                                        _PyPIRules(dist), self.signatures)
        except PayloadTooLarge as err:
            raise PayloadTooLarge(f"File too large. Limit for project {dist.name!r} is "
                                  f"{_human(limit)}.", limit=limit) from err
        return UploadOutcome(filename=form.filename, published=published)

    def authenticate(self, secret: str) -> Principal:
        """The principal of a Vouch API token sent as the Basic password; raises
        ``NotAuthenticated`` for an unknown, expired or revoked token."""
        with session_scope(self.engine) as session:
            return authenticate(session, secret, now=self.publish.clock.now())

    def unpublish(self, principal: Principal, name: str, version: str) -> None:
        """Unpublish a release within the grace period (the native rules)."""
        project, release = self._release(name, version)
        self._lifecycle().unpublish(principal, project, release, ecosystem=ECOSYSTEM)

    def set_yank(self, principal: Principal, name: str, version: str,
                 message: str | None) -> None:
        """Yank (deprecate with ``message``) or un-yank (``None``) a release (PEP 592)."""
        project, release = self._release(name, version)
        self._lifecycle().set_deprecation(principal, project, release, message,
                                          ecosystem=ECOSYSTEM)

    def _lifecycle(self) -> LifecycleService:
        if self.lifecycle is None:
            raise RuntimeError("PyPIUploadService was built without a LifecycleService")
        return self.lifecycle

    def _release(self, name: str, version: str) -> tuple[str, str]:
        """The project's normalised name and the release's stored version: ``1.0`` finds
        release ``1.0.0`` (PEP 440 equality, as uploads do). Unknown ones are left to the
        lifecycle's 404; an invalid name or version is 400 ``malformed_input``."""
        try:
            project = pypi_names.normalize(name)
            key = pypi_names.version_sort_key(version)
            fallback = pypi_names.canonical_version(version)
        except FormatError as err:
            raise MalformedInput(err.detail) from err
        with session_scope(self.engine) as session:
            stored = session.exec(
                select(PackageVersion.version).join(
                    Package, col(Package.id) == PackageVersion.package_id)
                .where(Package.ecosystem == ECOSYSTEM, Package.name == project,
                       PackageVersion.sort_key == key)).first()
        return project, stored or fallback

    def _identical_exists(self, dist: DistFilename, staged: Staged) -> bool:
        """The same filename with the same bytes: a re-run release job, a no-op. The same
        filename with other bytes is refused later (``_PyPIRules.check``)."""
        with session_scope(self.engine) as session:
            found = _file_by_name(session, dist)
            if found is None:
                return False
            _, blob, row = found
            return row.unpublished_at is None and hmac.compare_digest(blob.sha256,
                                                                      staged.sha256)


class _PyPIRules:
    """A release takes several files: wheels and at most one sdist; a filename is used once,
    ever; an unpublished release is burned. Releases are found by PEP 440 equality (the sort
    key): a ``1.0.0`` wheel joins release ``1.0``, as on PyPI."""

    def __init__(self, dist: DistFilename) -> None:
        self.dist = dist

    def check(self, session: Session, package: Package | None, plan: FilePlan) -> None:
        if package is None:
            return
        row = session.exec(select(PackageVersion).where(
            PackageVersion.package_id == package.id,
            PackageVersion.sort_key == plan.sort_key)).first()
        if row is not None and row.unpublished_at is not None:
            raise VersionBurned(plan.name.full, plan.version)
        found = _file_by_name(session, self.dist)
        if found is not None:
            _, blob, _ = found
            raise FileExists(plan.filename, blob.sha256)
        if row is not None:
            self._check_release(session, row, plan)

    def version_row(self, session: Session, package: Package, plan: FilePlan,
                    principal: Principal, now: datetime) -> PackageVersion:
        assert package.id is not None
        row = session.exec(select(PackageVersion).where(
            PackageVersion.package_id == package.id,
            PackageVersion.sort_key == plan.sort_key)).first()
        if row is None:
            fields = plan.fields
            row = PackageVersion(
                package_id=package.id, version=plan.version, sort_key=plan.sort_key,
                description=fields.description, license=fields.license,
                keywords=fields.keywords, repository=fields.repository,
                published_at=now, published_by_id=principal.user_id,
                published_by=principal.name)
            try:
                with session.begin_nested():
                    session.add(row)
                    session.flush()
                return row
            except IntegrityError:  # another file of the release created it meanwhile
                row = session.exec(select(PackageVersion).where(
                    PackageVersion.package_id == package.id,
                    PackageVersion.sort_key == plan.sort_key)).one()
        self._check_release(session, row, plan)
        return row

    def file_taken(self, session: Session, row: PackageVersion, plan: FilePlan) -> DomainError:
        """A unique index refused the file row: the filename (409 ``file_exists``) or, for an
        sdist, the release's one sdist slot (migration 0013; 400 ``sdist_exists``) was taken
        by an upload that committed first."""
        if self.dist.kind == SDIST:
            other = session.exec(select(PackageFile.filename).where(
                PackageFile.version_id == row.id, PackageFile.filetype == SDIST)).first()
            if other is not None and other != plan.filename:
                return SdistExists(plan.name.full, plan.version)
        blob = session.exec(select(PackageBlob).join(
            PackageFile, col(PackageFile.blob_id) == PackageBlob.id).where(
            PackageFile.version_id == row.id, PackageFile.filename == plan.filename)).first()
        return FileExists(plan.filename, blob.sha256 if blob else "")

    def _check_release(self, session: Session, row: PackageVersion, plan: FilePlan) -> None:
        if row.unpublished_at is not None:
            raise VersionBurned(plan.name.full, plan.version)
        if self.dist.kind == SDIST:
            sdist = session.exec(select(PackageFile.id).where(
                PackageFile.version_id == row.id, PackageFile.filetype == SDIST)).first()
            if sdist is not None:
                raise SdistExists(plan.name.full, plan.version)


def _file_by_name(session: Session,
                  dist: DistFilename) -> tuple[PackageFile, PackageBlob, PackageVersion] | None:
    """The file stored under ``dist.filename`` in the project (any of its releases)."""
    package = pkgs.find_package(session, dist.name, ECOSYSTEM)
    if package is None:
        return None
    found = session.exec(
        select(PackageFile, PackageBlob, PackageVersion)
        .where(PackageFile.blob_id == PackageBlob.id,
               PackageFile.version_id == PackageVersion.id,
               PackageVersion.package_id == package.id,
               PackageFile.filename == dist.filename)).first()
    return tuple(found) if found is not None else None  # type: ignore[return-value]


def _check_form(form: UploadForm) -> None:
    if form.action != "file_upload":
        raise InvalidUpload(f"Unknown or missing :action {(form.action or '')[:32]!r}: only "
                            "file_upload is supported")
    if form.protocol_version != "1":
        raise InvalidUpload("Unknown protocol version.")
    if not (form.sha256_digest or form.md5_digest or form.blake2_256_digest):
        raise InvalidUpload("Include at least one message digest (sha256_digest).")


def _parse(filename: str) -> DistFilename:
    try:
        return parse_filename(filename)
    except FormatError as err:
        raise from_format(err) from err


def _check_digests(staged: Staged, form: UploadForm) -> None:
    """Every digest the form sends must match the bytes (hex, compared in constant time)."""
    check_declared_digest(staged, form.sha256_digest)
    for declared, algorithm in ((form.md5_digest, "md5"), (form.blake2_256_digest, "blake2b")):
        if declared is None:
            continue
        actual = _file_digest(staged.path, algorithm)
        if not hmac.compare_digest(declared.strip().lower().encode(), actual.encode()):
            raise DeclaredDigestMismatch(expected=declared.strip().lower()[:128],
                                         actual=actual)


def _file_digest(path: Path, algorithm: str) -> str:
    digest = (hashlib.blake2b(digest_size=32) if algorithm == "blake2b"
              else hashlib.md5(usedforsecurity=False))
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _read_metadata(path: Path, dist: DistFilename, form: UploadForm) -> tuple[bytes,
                                                                               CoreMetadata]:
    try:
        raw = read_core_metadata(path, dist)
        meta = parse_core_metadata(raw)
        check_consistency(dist, meta, form_name=form.name, form_version=form.version,
                          form_filetype=form.filetype)
    except FormatError as err:
        raise from_format(err) from err
    return raw, meta


def _plan(dist: DistFilename, name: PackageName, meta: CoreMetadata, raw: bytes, *,
          now: datetime) -> FilePlan:
    repository = next((url for label, url in meta.project_urls.items()
                       if label.strip().lower() in _REPOSITORY_LABELS), meta.home_page)
    return FilePlan(
        ecosystem=ECOSYSTEM, name=name, version=dist.version,
        sort_key=pypi_names.version_sort_key(dist.version), filename=dist.filename,
        upload_filename=dist.filename,
        fields=VersionFields(description=meta.summary[:10_000],
                             license=(meta.license or None) and meta.license[:256],
                             keywords=list(meta.keywords[:50]),
                             repository=(repository or None) and repository[:512]),
        file_fields={"filetype": dist.kind, "requires_python": meta.requires_python,
                     "uploaded_at": now, "core_metadata": raw,
                     "core_metadata_sha256": hashlib.sha256(raw).hexdigest()})


def _human(limit: int) -> str:
    if limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MiB"
    return f"{limit} bytes"

