"""What every format's proxy shares: the cached pages of one upstream, and files fetched once,
verified before anything is stored, then kept write-once.

    class PypiProxy(UpstreamProxy): ECOSYSTEM = "pypi"
    page = self.cached_page(name)                        # ProxyPage row or None
    self.store_page(name, found, body)
    cached = self.fetch_verified(name, version, filename, url, check)   # CachedFile

``fetch_verified`` streams the upstream's bytes into a temporary file under the data
directory's ``staging/`` while hashing them; ``check(sha256, sha512)`` decides (constant time)
whether they are the advertised bytes, then ``attest(sha256, sha512)`` (optional) whether
provenance covers them (it may raise to refuse them). Refused bytes raise
``UpstreamDigestMismatch`` (502) and leave no blob and no row; accepted ones go into the blob
store (``put_file`` never replaces a blob) and get their ``proxy_files`` row; a concurrent
fetch of the same filename keeps the first row.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.core.db import session_scope
from app.core.errors import DomainError, PackageNotFound, VersionQuarantined
from app.core.records import audit
from app.proxy.errors import UpstreamDigestMismatch, UpstreamUnavailable
from app.proxy.fetch import Answer, UpstreamHttp
from app.proxy.guard import is_local
from app.proxy.models import ProxyFile, ProxyPage
from app.proxy.stats import ProxyStats
from app.registry import Registry
from formats.upstreams import Upstream

log = logging.getLogger("vouch.proxy")


@dataclass(frozen=True)
class CachedFile:
    filename: str
    sha256: str
    sha512: str
    size: int
    signed: bool


class UpstreamProxy:
    ECOSYSTEM = ""
    OSV_ECOSYSTEM = ""

    def __init__(self, registry: Registry, upstream: Upstream, stats: ProxyStats) -> None:
        self.registry = registry
        self.upstream = upstream
        self.stats = stats
        self.http = UpstreamHttp(upstream)

    # pages ---------------------------------------------------------------------------------
    def cached_page(self, session: Session, name: str) -> ProxyPage | None:
        return session.exec(select(ProxyPage).where(
            ProxyPage.upstream == self.upstream.name, ProxyPage.ecosystem == self.ECOSYSTEM,
            ProxyPage.name == name)).first()

    def store_page(self, name: str, found: bool, body: str) -> None:
        now = self.registry.clock.now()
        with session_scope(self.registry.engine, write=True) as session:
            row = self.cached_page(session, name)
            if row is None:
                row = ProxyPage(upstream=self.upstream.name, ecosystem=self.ECOSYSTEM,
                                name=name, found=found, body="", fetched_at=now)
            row.found, row.body, row.fetched_at = found, body, now
            session.add(row)

    def usable_document(self, answer: Answer, name: str, what: str) -> dict[str, Any]:
        """The upstream's JSON ``what`` (a packument, a version document) for ``name``. A
        status other than 200, a body that is not a JSON object, or another package's document
        counts as an upstream error and raises 502 ``upstream_unavailable``."""
        try:
            if answer.status != 200:
                raise ValueError(f"HTTP {answer.status}")
            doc = json.loads(answer.body)
            if not isinstance(doc, dict) or doc.get("name") != name:
                raise ValueError(f"not this package's {what}")
        except ValueError as err:
            self.stats.add(self.upstream.name, "errors")
            raise UpstreamUnavailable(f"upstream {self.upstream.name!r} answered no usable "
                                      f"{what} ({err})", upstream=self.upstream.name) from err
        return doc

    def purge(self, name: str | None = None) -> int:
        """Drop cached pages (all, or one name's): the next request asks the upstream."""
        with session_scope(self.registry.engine, write=True) as session:
            query = select(ProxyPage).where(ProxyPage.upstream == self.upstream.name)
            if name is not None:
                query = query.where(ProxyPage.name == name)
            rows = list(session.exec(query))
            for row in rows:
                session.delete(row)
            return len(rows)

    def malicious_versions(self, name: str, versions: set[str]) -> set[str]:
        """Those of ``versions`` a published malicious-package advisory names: never offered
        or served (a quarantine, as for hosted versions)."""
        def malicious(index: object) -> set[str]:
            return {version for version in versions if any(
                record.is_malicious()
                for record in index.query(self.OSV_ECOSYSTEM, name, version))}  # type: ignore[attr-defined]
        return self.registry.advisories.index.run(malicious)

    def refuse_quarantined(self, name: str, version: str) -> None:
        if self.malicious_versions(name, {version}):
            raise VersionQuarantined(name, version, "a published malicious-package advisory")

    # files ---------------------------------------------------------------------------------
    def cache_hit(self, name: str, version: str,
                  find: Callable[[Session], ProxyFile | None],
                  unsigned: Callable[[], DomainError] | None) -> CachedFile | None:
        """The cached file ``find`` returns, checked as every file served from upstream is:
        a hosted, reserved or org-scoped name never comes from upstream (``PackageNotFound``),
        a version a malicious-package advisory names is refused (``VersionQuarantined``,
        cached or not), and an unsigned cached file is refused with ``unsigned()`` while the
        upstream's policy refuses unsigned versions (``None``: exempt). ``None`` when nothing
        is cached: the caller fetches and verifies."""
        with session_scope(self.registry.engine) as session:
            if is_local(session, self.ECOSYSTEM, name):
                raise PackageNotFound(name)
            row = find(session)
        self.refuse_quarantined(name, version)
        if row is None:
            return None
        if unsigned is not None and self.upstream.unsigned == "refuse" and not row.signed:
            raise unsigned()
        self.stats.add(self.upstream.name, "hits")
        return as_cached(row)

    def cached_file(self, session: Session, name: str, filename: str) -> ProxyFile | None:
        return session.exec(select(ProxyFile).where(
            ProxyFile.ecosystem == self.ECOSYSTEM, ProxyFile.name == name,
            ProxyFile.filename == filename)).first()

    def cached_files(self, session: Session, name: str) -> dict[str, ProxyFile]:
        return {row.filename: row for row in session.exec(select(ProxyFile).where(
            ProxyFile.ecosystem == self.ECOSYSTEM, ProxyFile.name == name))}

    def fetch_verified(self, name: str, version: str, filename: str, url: str,
                       check: Callable[[str, str], bool], *,
                       signed: bool = False,
                       attest: Callable[[str, str], bool] | None = None) -> CachedFile:
        staging = self.registry.settings.data_dir / "staging"
        staging.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=staging, prefix="proxy-") as tmp:
            target = Path(tmp) / "download"
            try:
                got = self.http.download(url, target, self.registry.settings.max_upload_bytes)
            except Exception:
                self.stats.add(self.upstream.name, "errors")
                raise
            if not check(got.sha256, got.sha512):
                self.stats.add(self.upstream.name, "errors")
                log.error("upstream %s served %s with sha256 %s, not the digest its metadata "
                          "advertises: refused, nothing stored", self.upstream.name, filename,
                          got.sha256)
                raise UpstreamDigestMismatch(
                    f"upstream {self.upstream.name!r} served bytes for {filename} that are not "
                    "the ones its metadata advertises; nothing was stored",
                    package=name, version=version)
            if attest is not None:  # provenance over the verified bytes; may refuse them
                signed = attest(got.sha256, got.sha512)
            self.registry.blobs.put_file(got.sha256, target)
        self.stats.add(self.upstream.name, "misses")
        row = ProxyFile(upstream=self.upstream.name, ecosystem=self.ECOSYSTEM, name=name,
                        version=version, filename=filename, sha256=got.sha256,
                        sha512=got.sha512, size=got.size, url=url, signed=signed,
                        fetched_at=self.registry.clock.now())
        try:
            with session_scope(self.registry.engine, write=True) as session:
                session.add(row)
        except IntegrityError:  # another request cached it first: serve what it stored
            with session_scope(self.registry.engine) as session:
                first = self.cached_file(session, name, filename)
                assert first is not None
                return as_cached(first)
        return CachedFile(filename, got.sha256, got.sha512, got.size, signed)

    def store_document(self, name: str, version: str, filename: str, data: bytes,
                       url: str) -> None:
        """Keep a small verified upstream document (a file's PEP 740 provenance) write-once
        beside the file it belongs to: a blob and a ``proxy_files`` row named ``filename``
        (a concurrent request that stored it first wins; its bytes were verified too)."""
        staging = self.registry.settings.data_dir / "staging"
        staging.mkdir(parents=True, exist_ok=True)
        sha256 = hashlib.sha256(data).hexdigest()
        with tempfile.TemporaryDirectory(dir=staging, prefix="proxy-") as tmp:
            target = Path(tmp) / "document"
            target.write_bytes(data)
            self.registry.blobs.put_file(sha256, target)
        row = ProxyFile(upstream=self.upstream.name, ecosystem=self.ECOSYSTEM, name=name,
                        version=version, filename=filename, sha256=sha256,
                        sha512=hashlib.sha512(data).hexdigest(), size=len(data), url=url,
                        signed=True, fetched_at=self.registry.clock.now())
        try:
            with session_scope(self.registry.engine, write=True) as session:
                session.add(row)
        except IntegrityError:
            pass

    def read_blob(self, sha256: str) -> bytes:
        with self.registry.blobs.open(sha256) as stream:
            return stream.read()

    def alert_digest_changed(self, name: str, changes: list[tuple[ProxyFile, dict[str, str]]]
                             ) -> None:
        """Record, once per cached file, that the upstream now advertises another digest for
        it (audit ``proxy:digest-changed`` with both digests); the cached bytes stay what is
        offered and served. Opens a write transaction only when there is something to say."""
        if not changes:
            return
        now = self.registry.clock.now()
        with session_scope(self.registry.engine, write=True) as session:
            for cached, digests in changes:
                row = session.get(ProxyFile, cached.id)
                if row is None or row.digest_alert_at is not None:
                    continue  # another request recorded it first
                row.digest_alert_at = now
                session.add(row)
                audit(session, at=now, actor=f"upstream:{self.upstream.name}",
                      action="proxy:digest-changed", package=name, version=row.version,
                      filename=row.filename, upstream=self.upstream.name, **digests)
                log.error("ALERT: upstream %s now advertises another digest for %s (%s); "
                          "keeping the cached bytes", self.upstream.name, row.filename, digests)

    def count_download(self, name: str, filename: str) -> None:
        with session_scope(self.registry.engine, write=True) as session:
            row = self.cached_file(session, name, filename)
            if row is not None:
                row.downloads += 1
                session.add(row)


def as_cached(row: ProxyFile) -> CachedFile:
    return CachedFile(row.filename, row.sha256, row.sha512, row.size, row.signed)
