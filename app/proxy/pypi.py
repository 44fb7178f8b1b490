"""Python projects Vouch does not host, from the ``pypi`` upstream.

    proxy = PypiProxy(registry, upstream, stats)
    page, stale = proxy.project_page("requests")     # formats.pypi.index.ProjectPage
    cached = proxy.file("requests", "2.32.3", "requests-2.32.3-py3-none-any.whl")

Pages: the upstream's PEP 691 JSON (HTML accepted) is cached in ``proxy_pages`` for the
upstream's ``metadata_ttl``; when the upstream then fails, the cached page is served and marked
stale; with nothing cached the failure is 502 ``upstream_unavailable`` / 504
``upstream_timeout``. The page Vouch offers lists only files the upstream gives a sha256 for,
at Vouch's own URLs; a file already cached is offered with the cached digest, and if the
upstream now advertises another one for that filename an audit event
``proxy:digest-changed`` is written (once) and the old bytes stay what is served. Versions a
published malicious advisory names are not offered (as a quarantine). A file whose upstream
page links PEP 740 provenance has it fetched and verified (``app.proxy.provenance``) before the
file is fetched; verified files are recorded as signed. Under ``unsigned = "refuse"`` a file
without provenance is not offered, and one whose provenance does not verify is refused (403
``upstream_unsigned``, nothing stored); under ``warn`` both are served with a warning.

Files: fetched once, hashed while streaming into a temporary file, compared (constant time)
with the page's sha256 before anything is stored; a mismatch is 502
``upstream_digest_mismatch`` with no blob and no row. Then the bytes go into the blob store
(write-once) and a ``proxy_files`` row records them; later requests never ask the upstream.
Core metadata (``<file>.metadata``, PEP 658) is cached the same way against its advertised hash.
A hosted or reserved name never reaches this module (``app.proxy.guard``).
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from app.core.db import session_scope
from app.core.errors import NotFound, PackageNotFound
from app.proxy.base import CachedFile, UpstreamProxy
from app.proxy.errors import UpstreamDigestMismatch, UpstreamUnavailable, UpstreamUnsigned
from app.proxy.guard import is_local
from app.proxy.models import ProxyFile, ProxyPage
from app.proxy.provenance import UpstreamProvenance
from formats.errors import FormatError
from formats.pypi.index import IndexFile, ProjectPage
from formats.pypi.names import normalize
from formats.pypi.remote import ACCEPT, RemoteFile, parse_project_page

log = logging.getLogger("vouch.proxy")
METADATA = ".metadata"
PROVENANCE = ".provenance"  # a cached file's verified PEP 740 provenance: <filename>.provenance


class PypiProxy(UpstreamProxy):
    ECOSYSTEM = "pypi"
    OSV_ECOSYSTEM = "PyPI"

    # pages -------------------------------------------------------------------------------
    def project_page(self, name: str) -> tuple[ProjectPage, bool]:
        """The page Vouch offers for ``name`` (normalised) and whether it is stale; raises
        ``PackageNotFound`` for a local name or one the upstream does not have."""
        remote, fetched_at, stale = self._remote(name)
        with session_scope(self.registry.engine) as session:
            cached = self.cached_files(session, name)
        self.alert_digest_changed(name, [
            (row, {"cached_sha256": row.sha256, "upstream_sha256": item.sha256})
            for item in remote if item.sha256 is not None
            and (row := cached.get(item.filename)) is not None and row.digest_alert_at is None
            and not hmac.compare_digest(row.sha256, item.sha256)])
        quarantined = self.malicious_versions(name, {f.version for f in remote})
        versions: list[str] = []
        files: list[IndexFile] = []
        for item in remote:
            row = cached.get(item.filename)
            sha256 = row.sha256 if row else item.sha256
            if sha256 is None or item.version in quarantined:
                continue
            if self.upstream.unsigned == "refuse" and not (row.signed if row
                                                           else item.provenance_url):
                continue  # only files with (verified) provenance under "refuse"
            if item.version not in versions:
                versions.append(item.version)
            files.append(IndexFile(
                filename=item.filename,
                url=f"/pypi/files/{name}/{item.version}/{item.filename}",
                sha256=sha256, size=row.size if row else (item.size or 0),
                upload_time=item.upload_time or fetched_at,
                requires_python=item.requires_python, yanked=item.yanked,
                core_metadata_sha256=item.core_metadata_sha256,
                provenance_url=(f"/integrity/{name}/{item.version}/{item.filename}/provenance"
                                if (row.signed if row else item.provenance_url) else None)))
        return ProjectPage(name=name, versions=tuple(versions), files=tuple(files)), stale

    def _remote(self, name: str) -> tuple[tuple[RemoteFile, ...], datetime, bool]:
        now = self.registry.clock.now()
        with session_scope(self.registry.engine) as session:
            if is_local(session, self.ECOSYSTEM, name):
                raise PackageNotFound(name)
            page = self.cached_page(session, name)
        if page is not None and now - _aware(page.fetched_at) < \
                timedelta(seconds=self.upstream.metadata_ttl):
            self.stats.add(self.upstream.name, "hits")
            return self._files_of(page, name), _aware(page.fetched_at), False
        try:
            answer = self.http.get(f"{self.upstream.url}{name}/", accept=ACCEPT)
        except Exception:
            self.stats.add(self.upstream.name, "errors")
            if page is None:
                raise
            self.stats.add(self.upstream.name, "stale")
            log.warning("upstream %s is failing: serving its page of %s fetched at %s (stale)",
                        self.upstream.name, name, page.fetched_at)
            return self._files_of(page, name), _aware(page.fetched_at), True
        self.stats.add(self.upstream.name, "misses")
        if answer.status == 404:
            self.store_page(name, False, "[]")
            raise PackageNotFound(name)
        if answer.status != 200:
            self.stats.add(self.upstream.name, "errors")
            raise UpstreamUnavailable(f"upstream {self.upstream.name!r} answered "
                                      f"HTTP {answer.status}", upstream=self.upstream.name)
        try:
            remote = parse_project_page(answer.body, answer.content_type,
                                        f"{self.upstream.url}{name}/")
        except Exception as err:
            self.stats.add(self.upstream.name, "errors")
            raise UpstreamUnavailable(f"upstream {self.upstream.name!r} answered a page that "
                                      "cannot be read", upstream=self.upstream.name) from err
        self.store_page(name, True, json.dumps([_encode(f) for f in remote]))
        return remote, now, False

    def _files_of(self, page: ProxyPage, name: str) -> tuple[RemoteFile, ...]:
        if not page.found:
            raise PackageNotFound(name)
        return tuple(_decode(item) for item in json.loads(page.body))

    # files -------------------------------------------------------------------------------
    def file(self, name: str, version: str, filename: str) -> CachedFile:
        """The cached file (fetched and verified now if needed); raises ``PackageNotFound``,
        ``NotFound``, ``VersionQuarantined``, ``UpstreamUnsigned`` or an upstream error."""
        try:
            name = normalize(name)  # one cache entry per project, however the URL spells it
        except FormatError as err:
            raise NotFound(f"no project {name[:64]!r}") from err

        def cached_row(session: Session) -> ProxyFile | None:
            row = self.cached_file(session, name, filename)
            return row if row is not None and row.version == version else None

        def unsigned() -> UpstreamUnsigned:
            return UpstreamUnsigned(f"{filename} was cached without verified provenance, and "
                                    f"upstream {self.upstream.name!r} now refuses unsigned "
                                    "versions", package=name, version=version)

        hit = self.cache_hit(name, version, cached_row,
                             None if filename.endswith(METADATA) else unsigned)
        if hit is not None:
            return hit
        remote, _, _ = self._remote(name)
        wanted = filename[: -len(METADATA)] if filename.endswith(METADATA) else filename
        item = next((f for f in remote if f.filename == wanted and f.version == version), None)
        if item is None:
            raise NotFound(f"{filename} is not a file of {name} {version}", package=name,
                           version=version)
        if filename.endswith(METADATA):
            url, expected = item.url + METADATA, item.core_metadata_sha256
        else:
            url, expected = item.url, item.sha256
        if expected is None:
            raise UpstreamDigestMismatch(f"upstream {self.upstream.name!r} advertises no sha256 "
                                         f"for {filename}: it cannot be verified",
                                         package=name, version=version)
        metadata = filename.endswith(METADATA)
        provenance = None if metadata else self._provenance_verified(item, expected)
        signed = provenance is not None
        if self.upstream.unsigned == "refuse" and not signed and not (
                metadata and item.provenance_url):
            raise UpstreamUnsigned(f"{filename} from upstream {self.upstream.name!r} carries no "
                                   "verified provenance, and this upstream's policy refuses "
                                   "unsigned versions; nothing was stored", package=name,
                                   version=version)
        cached = self.fetch_verified(name, version, filename, url,
                                     lambda sha256, _: hmac.compare_digest(sha256, expected),
                                     signed=signed)
        if provenance is not None and item.provenance_url is not None and cached.signed:
            # only once the file's bytes are the attested ones: never a provenance alone
            self.store_document(name, version, filename + PROVENANCE, provenance,
                                item.provenance_url)
        return cached

    def provenance(self, name: str, version: str, filename: str) -> bytes:
        """The verified PEP 740 provenance object of a proxied file, as the upstream served
        it (fetching and verifying the file first if it is not cached yet); raises
        ``PackageNotFound`` for a local name, ``NotFound`` when the file has none that
        verified, or what ``file`` raises."""
        try:
            name = normalize(name)
        except FormatError as err:
            raise NotFound(f"no project {name[:64]!r}") from err
        if filename.endswith((METADATA, PROVENANCE)):
            raise NotFound(f"{filename} has no provenance", package=name, version=version)
        for attempt in range(2):
            with session_scope(self.registry.engine) as session:
                if is_local(session, self.ECOSYSTEM, name):
                    raise PackageNotFound(name)
                file_row = self.cached_file(session, name, filename)
                row = self.cached_file(session, name, filename + PROVENANCE)
            if row is not None and row.version == version and file_row is not None:
                self.refuse_quarantined(name, version)
                return self.read_blob(row.sha256)
            if attempt or file_row is not None:
                break
            self.file(name, version, filename)  # fetched, verified, provenance kept if any
        raise NotFound(f"{filename} of {name} {version} has no verified provenance",
                       package=name, version=version)

    def _provenance_verified(self, item: RemoteFile, sha256: str) -> bytes | None:
        if item.provenance_url is None:
            return None
        checker = UpstreamProvenance(self.http, self.registry.settings.sigstore_trust)
        return checker.verify(item.provenance_url, item.filename, sha256,
                              self.registry.clock.now())


def _encode(item: RemoteFile) -> dict[str, object]:
    data = asdict(item)
    data["upload_time"] = item.upload_time.isoformat() if item.upload_time else None
    return data


def _decode(data: dict[str, object]) -> RemoteFile:
    values = dict(data)
    when = values.get("upload_time")
    values["upload_time"] = datetime.fromisoformat(when) if isinstance(when, str) else None
    return RemoteFile(**values)  # type: ignore[arg-type]


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)
