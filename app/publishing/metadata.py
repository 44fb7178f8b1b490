"""Resolution metadata: versions, dependencies and digests of many packages in one go.

    batch_metadata(session, ["left-pad", "@acme/x"])   # {"packages": {...}, "missing": [...]}
    resolve_range(session, "left-pad", "^1.2.0")        # the highest satisfying version

Four queries serve any number of packages, so a client resolves a large graph in a few round
trips. Each version says whether it is ``signed`` and how (``signing_method``: ``sigstore`` or
``gpg``; None when unsigned), so a client preferring signed versions needs no version
documents. ``resolve_range`` raises ``InvalidRangeError`` (422, from ``versioning``) or
``NoSatisfyingVersion`` (404).
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from app.core.clock import as_utc
from app.core.errors import NotFound
from app.core.models import Package, PackageBlob, PackageFile, PackageVersion, Provenance
from app.publishing import packages as pkgs
from app.publishing.documents import artifact_path
from app.publishing.versioning import parse_range_strict, parse_version

MAX_BATCH = 1000


class NoSatisfyingVersion(NotFound):
    """No available version satisfies the range (the library's ``NoMatchingVersion`` is a
    resolver failure; this is the registry's 404)."""

    code = "no_matching_version"


def batch_metadata(session: Session, names: list[str]) -> dict[str, Any]:
    wanted = sorted(set(names))[:MAX_BATCH]
    packages = list(session.exec(select(Package).where(col(Package.name).in_(wanted))))
    by_id = {p.id: p for p in packages if p.id is not None}
    rows = list(session.exec(select(PackageVersion)
                             .where(col(PackageVersion.package_id).in_(list(by_id)))
                             .order_by(col(PackageVersion.package_id),
                                       col(PackageVersion.sort_key))))
    files = {f.version_id: (f, b) for f, b in session.exec(
        select(PackageFile, PackageBlob)
        .where(col(PackageFile.version_id).in_([r.id for r in rows]),
               PackageFile.blob_id == PackageBlob.id))}
    methods = dict(session.exec(
        select(Provenance.file_id, Provenance.method)
        .where(col(Provenance.file_id).in_([f.id for f, _ in files.values()])))
        .all()) if files else {}
    result: dict[str, Any] = {p.name: {"name": p.name, "status": p.status, "versions": []}
                              for p in packages}
    for row in rows:
        package = by_id[row.package_id]
        file_blob = files.get(row.id) if row.id is not None else None
        blob = file_blob[1] if file_blob else None
        method = methods.get(file_blob[0].id or 0) if file_blob else None
        method = None if method == "none" else method
        served = blob is not None and row.unpublished_at is None
        result[package.name]["versions"].append({
            "version": row.version, "dependencies": row.dependencies,
            "published_at": as_utc(row.published_at).isoformat(),
            "deprecated": row.deprecated, "unpublished": row.unpublished_at is not None,
            "quarantined": row.quarantined_at is not None or package.status == "quarantined",
            "sha256": blob.sha256 if blob else None, "sha512": blob.sha512 if blob else None,
            "size": blob.size if blob else None,
            "artifact_url": artifact_path(package.name, row.version) if served else None,
            "signed": method is not None, "signing_method": method,
        })
    return {"packages": result, "missing": [n for n in wanted if n not in result]}


def resolve_range(session: Session, name: str, range_text: str) -> dict[str, Any]:
    wanted = parse_range_strict(range_text)
    package = pkgs.get_package(session, name)
    live = [r for r in pkgs.list_versions(session, package)
            if r.unpublished_at is None and r.quarantined_at is None]
    matching = [r for r in live if wanted.satisfies(parse_version(r.version))]
    if not matching or package.status == "quarantined":
        raise NoSatisfyingVersion(f"no available version of {name} satisfies {range_text!r}",
                                package=name, range=range_text,
                                available=[r.version for r in live])
    # Rows are ascending: prefer the highest non-deprecated version, as the resolver does.
    healthy = [r for r in matching if not r.deprecated]
    chosen = (healthy or matching)[-1]
    return {"name": name, "range": range_text, "version": chosen.version,
            "deprecated": chosen.deprecated,
            "artifact_url": artifact_path(name, chosen.version)}
