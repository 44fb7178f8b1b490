"""The Simple Repository API's data, read from the database (documents: ``formats.pypi.index``).

    names = project_names(session)
    page = project_page(session, "foo-bar")            # ProjectPage, or PackageNotFound
    artifact = find_file(session, "foo-bar", "1.0", "foo_bar-1.0-py3-none-any.whl")
    raw = core_metadata(session, "foo-bar", "1.0", "foo_bar-1.0-py3-none-any.whl")
    provenance = provenance_json(session, "foo-bar", "1.0", "foo_bar-1.0-py3-none-any.whl")
    signature = gpg_signature(session, "foo-bar", "1.0", "foo_bar-1.0-py3-none-any.whl")

What a page offers follows the registry's rules: unpublished releases are gone; a quarantined
release offers no files, and a quarantined project none at all (PEP 792 ``quarantined``); a
deprecated release is yanked with its message (PEP 592). Files are served under
``/pypi/files/<name>/<version>/<filename>`` (no query string: clients append ``.metadata``),
with the same rules as native downloads: 410 ``version_unpublished`` for an unpublished
release, 403 ``version_quarantined`` for a quarantined one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.core.clock import as_utc
from app.core.errors import NotFound, VersionGone, VersionQuarantined
from app.core.models import GpgKey, Package, PackageBlob, PackageFile, PackageVersion, Provenance
from app.publishing import packages as pkgs
from app.publishing.documents import ProvenanceNotFound
from app.publishing.downloads import Artifact
from formats.pypi.index import IndexFile, ProjectPage

ECOSYSTEM = "pypi"
FILES_PREFIX = "/pypi/files"


def file_url(name: str, version: str, filename: str) -> str:
    return f"{FILES_PREFIX}/{name}/{version}/{filename}"


def provenance_url(name: str, version: str, filename: str) -> str:
    return f"/integrity/{name}/{version}/{filename}/provenance"


def project_names(session: Session) -> list[str]:
    return list(session.exec(select(Package.name).where(Package.ecosystem == ECOSYSTEM)
                             .order_by(col(Package.name))))


def project_page(session: Session, name: str) -> ProjectPage:
    """The project's page; raises ``PackageNotFound``."""
    package = pkgs.get_package(session, name, ECOSYSTEM)
    columns = [col(c) for c in (
        PackageVersion.version, PackageVersion.deprecated, PackageFile.filename,
        PackageFile.requires_python, PackageFile.uploaded_at, PackageFile.core_metadata_sha256,
        PackageBlob.sha256, PackageBlob.size, PackageVersion.published_at, Provenance.method,
        Provenance.raw)]  # not the core metadata bytes
    rows = session.execute(
        sa_select(*columns)
        .select_from(PackageVersion)
        .join(PackageFile, col(PackageFile.version_id) == PackageVersion.id)
        .join(PackageBlob, col(PackageBlob.id) == PackageFile.blob_id)
        .outerjoin(Provenance, col(Provenance.file_id) == PackageFile.id)
        .where(col(PackageVersion.package_id) == package.id,
               col(PackageVersion.unpublished_at).is_(None),
               col(PackageVersion.quarantined_at).is_(None))
        .order_by(col(PackageVersion.sort_key), col(PackageFile.filename))).all()
    versions: list[str] = []
    files: list[IndexFile] = []
    for (version, deprecated, filename, requires_python, uploaded_at, metadata_sha256,
         sha256, size, published_at, method, raw) in rows:
        if not versions or versions[-1] != version:
            versions.append(version)
        files.append(IndexFile(
            filename=filename, url=file_url(package.name, version, filename), sha256=sha256,
            size=size, upload_time=uploaded_at or published_at,
            requires_python=requires_python, yanked=deprecated,
            core_metadata_sha256=metadata_sha256,
            provenance_url=(provenance_url(package.name, version, filename)
                            if _is_pep740(method, raw) else None)))
    quarantined = package.status == "quarantined"
    return ProjectPage(name=package.name, versions=tuple(versions), files=tuple(files),
                       status="quarantined" if quarantined else "active",
                       status_reason=("quarantined by the security team" if quarantined
                                      else None))


def find_file(session: Session, name: str, version: str, filename: str) -> Artifact:
    """The servable file; raises ``NotFound``, ``VersionGone`` (unpublished, 410) or
    ``VersionQuarantined`` (403), as native downloads do."""
    package, row, file = _file(session, name, version, filename)
    if row.unpublished_at is not None:
        raise VersionGone(name, version)
    if row.quarantined_at is not None or package.status == "quarantined":
        raise VersionQuarantined(name, version, row.quarantine_reason)
    blob = session.get(PackageBlob, file.blob_id)
    assert blob is not None and row.id is not None
    return Artifact(package=package.name, version=row.version, version_id=row.id,
                    filename=file.filename, sha256=blob.sha256, sha512=blob.sha512,
                    size=blob.size)


def core_metadata(session: Session, name: str, version: str, filename: str) -> bytes:
    """The file's METADATA / PKG-INFO bytes (PEP 658), under the download rules."""
    find_file(session, name, version, filename)
    _, _, file = _file(session, name, version, filename)
    if file.core_metadata is None:
        raise NotFound(f"{filename} has no core metadata")
    return file.core_metadata


def provenance_json(session: Session, name: str, version: str, filename: str) -> str:
    """The PEP 740 provenance object recorded at upload; raises ``ProvenanceNotFound`` (404)
    for a file uploaded without attestations. Answers for unpublished and quarantined
    releases too: the evidence stays (as native provenance does)."""
    _, _, file = _file(session, name, version, filename)
    row = session.exec(select(Provenance).where(Provenance.file_id == file.id)).first()
    if row is None or not _is_pep740(row.method, row.raw):
        raise ProvenanceNotFound(f"{filename} was uploaded without attestations",
                                 package=name, version=version)
    return row.raw


def gpg_signature(session: Session, name: str, version: str, filename: str) -> dict[str, Any]:
    """The detached GPG signature a file was uploaded with, in the native provenance document's
    shape (``method`` ``gpg``, ``identity.fingerprint``, the armored ``signature`` and the
    signer's registered ``public_key``, None once the key is removed), so a consumer verifies
    it itself. Raises ``ProvenanceNotFound`` (404) for a file uploaded without one; answers
    for unpublished and quarantined releases too, as the PEP 740 provenance does."""
    _, row, file = _file(session, name, version, filename)
    found = session.exec(select(Provenance).where(Provenance.file_id == file.id,
                                                  Provenance.method == "gpg")).first()
    if found is None:
        raise ProvenanceNotFound(f"{filename} was uploaded without a GPG signature",
                                 package=name, version=version)
    fingerprint = found.identity.get("fingerprint")
    key = session.exec(select(GpgKey).where(GpgKey.fingerprint == fingerprint)).first()
    return {"name": name, "version": row.version, "method": found.method,
            "identity": found.identity, "log_index": None, "log_id": None,
            "integrated_time": None, "verified_at": as_utc(found.verified_at).isoformat(),
            "bundle": None, "signature": found.raw, "public_key": key.armored if key else None}


def _file(session: Session, name: str, version: str,
          filename: str) -> tuple[Package, PackageVersion, PackageFile]:
    package = pkgs.get_package(session, name, ECOSYSTEM)
    row = pkgs.get_version(session, package, version)
    file = session.exec(select(PackageFile).where(PackageFile.version_id == row.id,
                                                  PackageFile.filename == filename)).first()
    if file is None:
        raise NotFound(f"{filename} is not a file of {name} {version}", package=name,
                       version=version)
    return package, row, file


def _is_pep740(method: str | None, raw: str | None) -> bool:
    """A PEP 740 provenance object (stored from attestations), not a native Sigstore bundle."""
    return method == "sigstore" and raw is not None and raw.lstrip().startswith("{") \
        and '"attestation_bundles"' in raw
