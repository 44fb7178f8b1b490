"""Public reads of packages: documents, provenance, the artifact a download serves, range
resolution and batch metadata, each in its own read transaction.

    reads = PackageReads(engine, blobs)             # built by Registry.build: registry.reads
    reads.package("left-pad")                       # PackagePublic
    reads.version("left-pad", "1.0.0")              # VersionPublic
    artifact = reads.artifact("left-pad", "1.0.0")  # what a download serves
    stream = reads.open(artifact)                   # its bytes, opened before any header

The routes of ``app/routers/packages.py`` and ``resolve.py`` call these and open no session.
The documents themselves are built in ``documents`` and ``metadata``; writes are
``PublishService`` and ``LifecycleService``. Failures: ``PackageNotFound`` /
``VersionNotFound`` (404), ``VersionGone`` (410), ``VersionQuarantined`` (403),
``ProvenanceNotFound`` (404), ``InvalidRangeError`` (422), ``NoSatisfyingVersion`` (404),
``BlobMissing`` (a 500: a live version's bytes are gone from storage).
"""

from __future__ import annotations

from typing import BinaryIO

from sqlalchemy.engine import Engine

from app.core.db import session_scope
from app.publishing import packages as pkgs
from app.publishing.documents import (
    build_version_document,
    package_document,
    provenance_document,
    version_document,
)
from app.publishing.downloads import Artifact, find_artifact, open_artifact
from app.publishing.metadata import batch_metadata, resolve_range
from app.publishing.publish import Published
from app.publishing.schemas import (
    BatchMetadata,
    PackagePublic,
    ProvenancePublic,
    ResolvedVersion,
    VersionPublic,
)
from app.storage import BlobStore


class PackageReads:
    def __init__(self, engine: Engine, blobs: BlobStore) -> None:
        self.engine = engine
        self.blobs = blobs

    def package(self, name: str) -> PackagePublic:
        """A package with every version's markers, and its latest."""
        with session_scope(self.engine) as session:
            return package_document(session, pkgs.get_package(session, name))

    def version(self, name: str, version: str) -> VersionPublic:
        """One version's document: metadata, digests, signer, markers, advisories."""
        with session_scope(self.engine) as session:
            package = pkgs.get_package(session, name)
            return version_document(session, package, pkgs.get_version(session, package,
                                                                        version))

    def published(self, published: Published) -> VersionPublic:
        """The document of a version just published (from the rows the publish returned;
        with no session when the publish read the advisories in its transaction)."""
        if published.advisories is not None:
            return build_version_document(None, published.package, published.version,
                                          published.filename, published.blob,
                                          published.provenance,
                                          advisories=published.advisories)
        with session_scope(self.engine) as session:
            return build_version_document(session, published.package, published.version,
                                          published.filename, published.blob,
                                          published.provenance)

    def provenance(self, name: str, version: str) -> ProvenancePublic:
        """The signature evidence of a version; ``ProvenanceNotFound`` when unsigned."""
        with session_scope(self.engine) as session:
            package = pkgs.get_package(session, name)
            return ProvenancePublic(**provenance_document(
                session, package, pkgs.get_version(session, package, version)))

    def artifact(self, name: str, version: str) -> Artifact:
        """The file a download of ``name@version`` serves, if it may be served now."""
        with session_scope(self.engine) as session:
            return find_artifact(session, name, version)

    def open(self, artifact: Artifact) -> BinaryIO:
        """The artifact's bytes (the caller streams and closes them); see ``open_artifact``."""
        return open_artifact(self.engine, self.blobs, artifact)

    def metadata(self, names: list[str]) -> BatchMetadata:
        """Versions, dependencies and digests of many packages in four queries."""
        with session_scope(self.engine) as session:
            return BatchMetadata.model_validate(batch_metadata(session, names))

    def resolve(self, name: str, range_text: str) -> ResolvedVersion:
        """The highest available version of ``name`` satisfying an npm range."""
        with session_scope(self.engine) as session:
            return ResolvedVersion(**resolve_range(session, name, range_text))
