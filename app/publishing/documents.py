"""Build the public documents (version and package) from database rows."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, col, select

from app.advisories.service import advisories_for_version
from app.core.clock import as_utc
from app.core.errors import NotFound
from app.core.models import GpgKey, Package, PackageBlob, PackageFile, PackageVersion, Provenance
from app.publishing import packages as pkgs
from app.publishing.schemas import PackagePublic, SignerPublic, VersionPublic, VersionSummary
from app.publishing.versioning import parse_version


def artifact_path(name: str, version: str) -> str:
    return f"/api/v1/packages/{name}/versions/{version}/artifact"


def version_document(session: Session, package: Package, row: PackageVersion) -> VersionPublic:
    found = session.exec(
        select(PackageFile, PackageBlob)
        .where(PackageFile.version_id == row.id, PackageFile.blob_id == PackageBlob.id)
    ).first()
    file, blob = found if found else (None, None)
    prov = None
    if file is not None:
        prov = session.exec(select(Provenance).where(Provenance.file_id == file.id)).first()
    return build_version_document(session, package, row, file.filename if file else None,
                                  blob, prov)


def build_version_document(session: Session | None, package: Package, row: PackageVersion,
                           filename: str | None, blob: PackageBlob | None,
                           prov: Provenance | None, *,
                           advisories: list[dict[str, Any]] | None = None) -> VersionPublic:
    """The version document from rows already at hand (only advisories are queried, unless
    the caller read them: then ``session`` may be None)."""
    if advisories is None:
        assert session is not None
        advisories = advisories_for_version(session, package.ecosystem, package.name,
                                            row.version)
    signer = None
    if prov is not None:
        signer = SignerPublic(
            method=prov.method, identity=prov.identity, log_index=prov.log_index,
            integrated_time=as_utc(prov.integrated_time) if prov.integrated_time else None,
            verified_at=as_utc(prov.verified_at),
        )
    served = row.unpublished_at is None and blob is not None
    return VersionPublic(
        name=package.name, version=row.version, description=row.description,
        license=row.license, keywords=row.keywords, repository=row.repository,
        dependencies=row.dependencies, dev_dependencies=row.dev_dependencies,
        filename=filename,
        sha256=blob.sha256 if blob else None, sha512=blob.sha512 if blob else None,
        size=blob.size if blob else None, published_at=as_utc(row.published_at),
        published_by=row.published_by, deprecated=row.deprecated,
        unpublished=row.unpublished_at is not None,
        unpublished_at=as_utc(row.unpublished_at) if row.unpublished_at else None,
        quarantined=row.quarantined_at is not None or package.status == "quarantined",
        downloads=row.downloads,
        artifact_url=artifact_path(package.name, row.version) if served else None,
        signer=signer,
        advisories=advisories,
    )


def latest_version(rows: list[PackageVersion]) -> PackageVersion | None:
    """Highest available release; pre-releases and deprecated versions only as a fallback."""
    live = [r for r in rows if r.unpublished_at is None and r.quarantined_at is None]
    releases = [r for r in live if not parse_version(r.version).is_prerelease]
    for chosen in ([r for r in releases if not r.deprecated], releases, live):
        if chosen:
            return chosen[-1]  # rows are in ascending precedence
    return None


def package_document(session: Session, package: Package) -> PackagePublic:
    rows = pkgs.list_versions(session, package)
    latest = latest_version(rows)
    return PackagePublic(
        name=package.name, ecosystem=package.ecosystem, status=package.status,
        created_at=as_utc(package.created_at), latest=latest.version if latest else None,
        downloads=sum(r.downloads for r in rows),
        versions=[
            VersionSummary(version=r.version, published_at=as_utc(r.published_at),
                           deprecated=r.deprecated, unpublished=r.unpublished_at is not None,
                           quarantined=r.quarantined_at is not None)
            for r in rows
        ],
    )


class ProvenanceNotFound(NotFound):
    code = "provenance_not_found"


def provenance_document(session: Session, package: Package, row: PackageVersion) -> dict[str, Any]:
    """The evidence stored at publish time and what the registry verified from it.

    ``bundle`` is the Sigstore bundle (JSON object) or ``signature`` the armored GPG signature,
    with ``public_key`` the signer's registered key, so consumers can verify it themselves.
    Raises ``ProvenanceNotFound`` for an unsigned (or unpublished) version.
    """
    found = session.exec(
        select(Provenance).join(PackageFile, col(PackageFile.id) == Provenance.file_id)
        .where(PackageFile.version_id == row.id)).first()
    if found is None:
        raise ProvenanceNotFound(f"{package.name}@{row.version} has no signature provenance",
                                 package=package.name, version=row.version)
    doc: dict[str, Any] = {
        "name": package.name, "version": row.version, "method": found.method,
        "identity": found.identity, "log_index": found.log_index, "log_id": found.log_id,
        "integrated_time": as_utc(found.integrated_time).isoformat()
        if found.integrated_time else None,
        "verified_at": as_utc(found.verified_at).isoformat(),
        "bundle": None, "signature": None, "public_key": None,
    }
    if found.method == "sigstore":
        doc["bundle"] = json.loads(found.raw)
    else:
        doc["signature"] = found.raw
        fingerprint = found.identity.get("fingerprint")
        key = session.exec(select(GpgKey).where(GpgKey.fingerprint == fingerprint)).first()
        doc["public_key"] = key.armored if key else None
    return doc
