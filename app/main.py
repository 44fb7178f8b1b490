"""The HTTP application factory.

    app = create_app(Settings())            # what `vouch serve` runs
    app = create_app(settings, clock=ManualClock())   # tests

Builds the registry (engine, migrations, storage, services) once, installs the problem+json
handlers and the routers. OpenAPI is at ``/docs``.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from fastapi import FastAPI

from app.accounts.token_gate import TokenGate
from app.accounts.token_lookup import TokenLookup
from app.core.clock import Clock
from app.core.config import Settings
from app.core.errors import DatabaseUnavailable
from app.core.limits import BodyPolicy, RequestGuard
from app.core.problems import PROBLEM_RESPONSES, install_problem_handlers
from app.core.readiness import DatabaseProbe
from app.npm.fast_packuments import Entries, PackumentCache
from app.npm.oidc import NpmIdTokenHeader, NpmOidcExchange
from app.npm.service import NpmService
from app.publishing.blob_refs import settle_set_aside
from app.publishing.fast_downloads import ArtifactLookup, BodyCache, FastDownloads
from app.publishing.front_door import FrontDoor
from app.publishing.generations import GenerationReader
from app.publishing.read_cache import CachedReads, DocumentAnswers
from app.publishing.sweep import sweep_temporary_files
from app.pypi.fast_metadata import CoreMetadata, CoreMetadataReads
from app.pypi.fast_pages import SimplePages
from app.registry import Registry
from app.routers import (
    accounts,
    advisories,
    audit,
    npm,
    oidc,
    osv,
    packages,
    proxy,
    pypi_oidc,
    pypi_simple,
    pypi_upload,
    resolve,
    search,
    trust,
)
from app.web import install_web

log = logging.getLogger("vouch")


def create_app(settings: Settings, *, clock: Clock | None = None,
               registry: Registry | None = None) -> FastAPI:
    registry = registry or Registry.build(settings, clock=clock)

    probe = DatabaseProbe(registry.engine)
    lookup = ArtifactLookup(registry.engine)
    tokens = TokenLookup(registry.engine, registry.clock)
    generations = GenerationReader(registry.engine)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        _remove_crash_leftovers(registry)
        registry.start()
        # Load the advisory index in the background, so the first OSV query does not pay it.
        threading.Thread(target=_warm_advisories, args=(registry,), daemon=True,
                         name="vouch-advisory-warmup").start()
        try:
            yield
        finally:
            probe.close()
            lookup.close()
            tokens.close()
            generations.close()
            registry.close()

    app = FastAPI(title="Vouch", version="0.1.0", lifespan=lifespan,
                  description="A package registry built for supply-chain security.",
                  **_without_telemetry())
    app.state.registry = registry
    app.state.npm = NpmService.build(registry)  # the npm signing key: created or required
    app.state.npm_oidc = NpmOidcExchange.build(registry)  # VOUCH_NPM_OIDC_AUDIENCE
    install_problem_handlers(app)

    @app.get("/healthz", tags=["ops"], responses=PROBLEM_RESPONSES)
    def healthz() -> dict[str, str]:
        """Liveness: 200 while the process serves HTTP (it asks no backend)."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], responses=PROBLEM_RESPONSES)
    async def readyz() -> dict[str, str]:
        """Readiness: 200 only when the database answers a query within a short timeout;
        otherwise 503 ``database_unavailable`` (for load balancers and health checks)."""
        if not await probe.ready():
            raise DatabaseUnavailable()
        return {"status": "ready"}

    for module in (accounts, audit, search, resolve, trust, oidc, pypi_oidc, packages, advisories,
                   osv, pypi_simple, pypi_upload, npm, proxy):
        app.include_router(module.router, responses=PROBLEM_RESPONSES)
    app.include_router(proxy.page_router)  # /proxy: the upstream proxy's status page
    app.include_router(npm.root_router, responses=PROBLEM_RESPONSES)  # npm's OIDC exchange
    install_web(app)  # server-rendered pages and /static
    # Metadata documents from memory while their package's generation is unchanged.
    app.add_middleware(CachedReads, cache=registry.read_cache, reader=generations)
    packuments: Entries = OrderedDict()  # one store: inside the stack and in front of it
    app.add_middleware(PackumentCache, reader=generations,  # npm packuments, same rule
                       entries=packuments)
    # Simple API project pages (pip, uv) from memory while their package is unchanged.
    app.add_middleware(SimplePages, engine=registry.engine, reader=generations)
    # Plain artifact downloads: one query and one thread hop, no routing (fast_downloads).
    # One store of small bodies for this instance and the front door's, whose answerer also
    # answers pip's downloads, which only this one reads first.
    bodies = BodyCache()
    app.add_middleware(FastDownloads, registry=registry, lookup=lookup, bodies=bodies)
    # PEP 658 metadata files under the same lookup, their bytes kept by digest (fast_metadata).
    metadata = CoreMetadataReads(lookup, registry.engine)
    app.add_middleware(CoreMetadata, reads=metadata)
    # A presented bearer token that is not valid: 401 everywhere, public reads included.
    app.add_middleware(TokenGate, tokens=tokens)
    # npm's trusted-publishing exchange sends the CI's OIDC token as a bearer token.
    app.add_middleware(NpmIdTokenHeader)
    # Outermost: NUL in path/query, body caps, JSON depth and NUL, before anything parses.
    app.add_middleware(RequestGuard, **_body_policies(settings))
    # Anonymous plain reads of /api/v1/packages/ try the same fast paths before the stack
    # above, which has nothing to do for them (app/publishing/front_door.py). Keep this last.
    door = FrontDoor(app.build_middleware_stack(), fast=lambda rest: (
        FastDownloads(CachedReads(rest, cache=registry.read_cache, reader=generations),
                      registry=registry, lookup=lookup, bodies=bodies)))
    app.middleware_stack = door
    # Anonymous plain /simple/<name>/ reads, likewise before the whole stack (fast_pages).
    front_pages = SimplePages(app.middleware_stack, engine=registry.engine,
                              reader=generations, anonymous_only=True)
    app.middleware_stack = front_pages
    # Anonymous plain npm packument reads that hit, likewise (fast_packuments).
    app.middleware_stack = PackumentCache(app.middleware_stack, reader=generations,
                                          entries=packuments, anonymous_only=True)
    # Hits of cached documents and Simple pages (under the same generation check) and small
    # downloads (the same lookup and count), answered by `vouch serve`'s protocol before any
    # of the above (app/core/protocol_answers.py).
    app.state.protocol_answers = [DocumentAnswers(registry.read_cache, generations),
                                  front_pages.answer, cast(FastDownloads, door.fast).answer,
                                  metadata.answer]
    return app


def _without_telemetry() -> dict[str, Any]:
    """FastAPI's built-in OpenTelemetry export off, where this FastAPI has it. Vouch configures
    no exporter; one configured globally by a deployment would receive every unhandled
    exception's message and stack trace (``logs``), which may quote request data. Off, it also
    stops a per-request check of the global providers: 4% of a worker's samples on cached
    reads (issue 13)."""
    if "telemetry" not in inspect.signature(FastAPI).parameters:
        return {}
    return {"telemetry": {"tracing": False, "metrics": False, "logs": False,
                          "operation_spans": False}}


def _body_policies(settings: Settings) -> dict[str, Any]:
    """JSON bodies get the JSON cap; the artifact upload the artifact limit plus room for
    metadata and signatures; an OSV batch and an advisory import the larger batch cap."""
    upload = (settings.max_upload_bytes + 4 * settings.max_metadata_bytes + 2 * 1024 * 1024)
    return {
        "json_body": BodyPolicy(settings.max_json_bytes),
        "overrides": {packages.publish_version: BodyPolicy(upload, streamed=True),
                      pypi_upload.legacy_upload: BodyPolicy(upload, streamed=True),
                      pypi_upload.legacy_upload_no_slash: BodyPolicy(upload, streamed=True),
                      osv.querybatch: BodyPolicy(settings.max_json_batch_bytes),
                      # npm publish: JSON with the tarball in base64 (4/3 of its size)
                      npm.publish: BodyPolicy(upload * 4 // 3, streamed=True),
                      npm.publish_scoped: BodyPolicy(upload * 4 // 3, streamed=True),
                      npm.audit_bulk: BodyPolicy(settings.max_json_batch_bytes, streamed=True),
                      npm.change: BodyPolicy(settings.max_json_batch_bytes),
                      npm.scoped_change: BodyPolicy(settings.max_json_batch_bytes),
                      advisories.import_advisories: BodyPolicy(settings.max_json_batch_bytes)},
        "max_json_depth": settings.max_json_depth,
    }


def _remove_crash_leftovers(registry: Registry) -> None:
    """Start-up: remove temporary files of processes that were killed mid-write (issue 10);
    files that a live process (another worker or replica) holds are left alone."""
    try:
        removed = sweep_temporary_files(registry.publish.staging_dir, registry.blobs)
    except OSError:
        log.exception("could not sweep abandoned temporary files")
        return
    if removed.count:
        log.warning("removed %s left by processes that died", removed)
    try:  # bytes an unpublish set aside but never purged or restored (blob_refs)
        settle_set_aside(registry.engine, registry.blobs)
    except Exception:
        log.exception("could not settle set-aside blobs; `vouch admin sweep-blobs` will")


def _warm_advisories(registry: Registry) -> None:
    try:
        registry.advisories.index.run(lambda _: None)
    except Exception:  # the first query will load it instead, and report what went wrong
        log.exception("could not preload the advisory index")
