"""The Python index's read side as one service (built by ``Registry.build``): what the routes
of ``app/routers/pypi_simple.py`` call.

    reads = PythonIndexService(engine, blobs, downloads)
    reads.project_list(media)                        # bytes of /simple/ (HTML or JSON)
    reads.project_page("foo-bar", media)             # bytes, or PackageNotFound
    served = reads.serve_file("foo-bar", "1.0", "foo_bar-1.0-py3-none-any.whl",
                              count=True, if_none_match=None)   # ServedFile
    reads.core_metadata("foo-bar", "1.0", "foo_bar-1.0-py3-none-any.whl")   # PEP 658 bytes
    reads.provenance("foo-bar", "1.0", "foo_bar-1.0-py3-none-any.whl")      # PEP 740 JSON
    reads.signature("foo-bar", "1.0", "foo_bar-1.0-py3-none-any.whl")       # ProvenancePublic

Each call opens its own read session. Failures: ``PackageNotFound`` / ``NotFound`` (404),
``VersionGone`` (410: unpublished, also when the bytes vanish while a file is opened),
``VersionQuarantined`` (403), ``ProvenanceNotFound`` (404), ``BlobMissing`` (500, logged).
Pages are rendered under the package's read generation (``PageCache``), so a write committed
on any replica shows at the next request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy.engine import Engine

from app.core.db import session_scope
from app.publishing.downloads import Artifact, DownloadCounter, open_artifact
from app.publishing.schemas import ProvenancePublic
from app.pypi import index
from app.pypi.page_cache import PageCache
from app.storage import BlobStore
from formats.pypi import index as documents


@dataclass(frozen=True)
class ServedFile:
    """A file to answer with: ``stream`` is None when ``if_none_match`` matched (a 304)."""

    artifact: Artifact
    stream: BinaryIO | None


class PythonIndexService:
    def __init__(self, engine: Engine, blobs: BlobStore, downloads: DownloadCounter) -> None:
        self.engine = engine
        self.blobs = blobs
        self.downloads = downloads
        self.pages = PageCache()

    def project_list(self, media: str) -> bytes:
        with session_scope(self.engine) as session:
            return documents.project_list(index.project_names(session), media)

    def project_page(self, name: str, media: str) -> bytes:
        """The page of the (normalised) ``name``; raises ``PackageNotFound``."""
        with session_scope(self.engine) as session:
            return self.pages.get(
                session, name, media,
                lambda s: documents.project_page(index.project_page(s, name), media))

    def serve_file(self, name: str, version: str, filename: str, *, count: bool,
                   if_none_match: str | None) -> ServedFile:
        """The file under the download rules, opened (and counted when ``count``) unless the
        client's ETag (the sha256) is current."""
        with session_scope(self.engine) as session:
            artifact = index.find_file(session, name, version, filename)
        if if_none_match == f'"{artifact.sha256}"':
            return ServedFile(artifact, None)
        stream = open_artifact(self.engine, self.blobs, artifact,
                               refind=lambda s: index.find_file(s, name, version, filename))
        if count:
            self.downloads.hit(artifact.version_id, artifact.package)
        return ServedFile(artifact, stream)

    def core_metadata(self, name: str, version: str, filename: str) -> bytes:
        with session_scope(self.engine) as session:
            return index.core_metadata(session, name, version, filename)

    def provenance(self, name: str, version: str, filename: str) -> str:
        with session_scope(self.engine) as session:
            return index.provenance_json(session, name, version, filename)

    def signature(self, name: str, version: str, filename: str) -> ProvenancePublic:
        """The file's detached GPG signature with the signer's registered key (the native
        provenance shape); ``ProvenanceNotFound`` when it was uploaded without one."""
        with session_scope(self.engine) as session:
            return ProvenancePublic(**index.gpg_signature(session, name, version, filename))
