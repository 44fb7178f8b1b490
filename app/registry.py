"""The composition root: every backend and service of one registry, built once.

    registry = Registry.build(settings, clock=SystemClock())
    registry.publish.publish(request, principal)
    registry.close()

Nothing here is created at import time; ``create_app`` builds one ``Registry`` per app.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from app.accounts.service import AccountService
from app.advisories.quarantine import QuarantineService
from app.advisories.service import AdvisoryService
from app.core.audit_log import AuditLog
from app.core.clock import Clock, SystemClock
from app.core.config import Settings
from app.core.db import make_engine, upgrade
from app.core.worker import OutboxWorker
from app.publishing.downloads import DownloadCounter
from app.publishing.lifecycle import LifecycleService
from app.publishing.publish import PublishService
from app.publishing.read_cache import DocumentCache
from app.publishing.reads import PackageReads
from app.pypi.service import PythonIndexService
from app.pypi.upload import PyPIUploadService
from app.search.service import SearchService
from app.storage import BlobStore
from app.storage.backends import open_blob_store
from app.trust.oidc_exchange import JwksSource, OidcExchange
from app.trust.service import TrustService
from app.trust.signatures import EvidenceVerifier, PolicySignatureChecker
from search import SearchIndex, open_index

log = logging.getLogger("vouch")


@dataclass
class Registry:
    settings: Settings
    clock: Clock
    engine: Engine
    blobs: BlobStore
    publish: PublishService
    lifecycle: LifecycleService
    downloads: DownloadCounter
    read_cache: DocumentCache
    search: SearchIndex
    worker: OutboxWorker
    advisories: AdvisoryService
    quarantine: QuarantineService
    accounts: AccountService
    trust: TrustService
    audit_log: AuditLog
    reads: PackageReads
    finder: SearchService
    oidc: OidcExchange
    pypi: PythonIndexService
    pypi_uploads: PyPIUploadService

    @classmethod
    def build(cls, settings: Settings, *, clock: Clock | None = None,
              engine: Engine | None = None, migrate: bool = True,
              verifier: EvidenceVerifier | None = None) -> Registry:
        clock = clock or SystemClock()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = engine or make_engine(settings.resolved_database_url)
        if migrate:
            upgrade(engine)
        blobs = open_blob_store(settings)  # VOUCH_BLOB_STORE: filesystem or s3 (issue 16)
        if verifier is None:
            from app.trust.verifier import RegistryEvidenceVerifier
            from signing.trust import TrustRoot

            # The file and its schema are checked now; sigstore-python (with requests, TUF
            # and boto3) loads with the first Sigstore publish (issue 13: idle memory).
            trust = TrustRoot.named(settings.sigstore_trust, deferred=True)
            log_check = None
            if settings.rekor_mode != "off":
                from app.trust.rekor_check import build_log_check

                log_check = build_log_check(settings.rekor_url, settings.rekor_mode, trust)
            verifier = RegistryEvidenceVerifier(trust, log_check=log_check)
        checker = PolicySignatureChecker(settings.default_signature_policy, verifier)
        publish = PublishService(
            engine=engine, blobs=blobs, clock=clock,
            staging_dir=settings.data_dir / "staging",
            max_upload_bytes=settings.max_upload_bytes,
            max_metadata_bytes=settings.max_metadata_bytes, signatures=checker,
        )
        read_cache = DocumentCache(ttl=settings.metadata_cache_ttl.total_seconds())
        publish.on_published = lambda published: read_cache.invalidate(published.package.name)
        lifecycle = LifecycleService(engine=engine, blobs=blobs, clock=clock,
                                     grace=settings.unpublish_grace,
                                     on_change=read_cache.invalidate)
        downloads = DownloadCounter(engine, clock, settings.download_flush_interval)
        search = open_search(settings)
        from app.search.sync import search_handlers

        worker = OutboxWorker(engine, clock, search_handlers(engine, search))
        # Advisory changes can alter version documents: both drop the cached ones they touch.
        advisories = AdvisoryService(engine, clock, on_change=read_cache.invalidate)
        quarantine = QuarantineService(engine, clock, on_change=read_cache.invalidate)
        return cls(settings=settings, clock=clock, engine=engine, blobs=blobs, publish=publish,
                   lifecycle=lifecycle, downloads=downloads, read_cache=read_cache,
                   search=search, worker=worker, advisories=advisories, quarantine=quarantine,
                   accounts=AccountService(engine, clock),
                   trust=TrustService(engine, clock, environment=settings.environment),
                   audit_log=AuditLog(engine),
                   reads=PackageReads(engine, blobs), finder=SearchService(search),
                   oidc=build_oidc_exchange(settings, engine, clock),
                   pypi=PythonIndexService(engine, blobs, downloads),
                   pypi_uploads=PyPIUploadService(publish, engine, lifecycle))

    def start(self) -> None:
        self.downloads.start()
        if self.settings.run_worker:
            self.worker.start()

    def close(self) -> None:
        self.downloads.stop()
        self.worker.stop()
        self.search.close()
        self.oidc.jwks.close()
        self.engine.dispose()


def build_oidc_exchange(settings: Settings, engine: Engine, clock: Clock) -> OidcExchange:
    """Trusted publishing: keys from VOUCH_OIDC_JWKS_FILE, VOUCH_OIDC_JWKS_URL, or discovery."""
    jwks = JwksSource(issuer=settings.oidc_issuer, clock=clock, file=settings.oidc_jwks_file,
                      url=settings.oidc_jwks_url)
    return OidcExchange(engine=engine, clock=clock, jwks=jwks, audience=settings.oidc_audience,
                        issuer=settings.oidc_issuer, lifetime=settings.oidc_token_lifetime)


def open_search(settings: Settings) -> SearchIndex:
    """The configured search backend (built once; Elasticsearch connects lazily)."""
    if settings.search_backend == "elasticsearch":
        return open_index("elasticsearch", url=settings.elasticsearch_url)
    return open_index("embedded", path=settings.search_dir)
