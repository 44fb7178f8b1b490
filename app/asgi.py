"""The ASGI entry points for uvicorn, and the `vouch serve` master.

    uvicorn --factory app.asgi:build          # settings from VOUCH_*, migrations applied
    serve("127.0.0.1", 8000, workers=2)       # what `vouch serve` runs once it migrated

Settings come from ``VOUCH_*`` variables; nothing is built at import time, and this module
imports nothing heavy at import time either: `vouch serve`'s master process (which only
supervises the workers) imports uvicorn, not the settings or the application (issue 13:
idle memory). Each worker builds the application with ``build_migrated``: the master applied
the migrations before it started them, so workers never load Alembic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastapi import FastAPI


def build() -> FastAPI:
    from app.core.config import Settings
    from app.main import create_app

    return _frozen(create_app(Settings()))


def build_migrated() -> FastAPI:
    """The application for a worker of `vouch serve`, whose master applied the migrations."""
    from app.core.config import Settings
    from app.main import create_app
    from app.registry import Registry

    settings = Settings()
    return _frozen(create_app(settings, registry=Registry.build(settings, migrate=False)))


def _frozen(app: FastAPI) -> FastAPI:
    """``app``, with everything the worker has loaded so far (modules, classes, the
    application) moved out of the cyclic garbage collector's sight. Its oldest generation
    otherwise walks every object of every imported library each time it runs, pausing the
    event loop for tens of milliseconds under load: that was the p99 of small downloads
    (issue 13: 28-56 ms on SQLite; 6.6 ms frozen, and 23,400 against 21,000 downloads/s)."""
    import gc

    gc.collect()
    gc.freeze()
    return app


#: The protocol each worker builds connections with, named by its import path: the master
#: resolves nothing, so it loads no settings (issue 13: idle memory).
WORKER_PROTOCOL = "app.core.protocol_answers:worker_protocol"


def serve(host: str, port: int, workers: int) -> None:
    """Run uvicorn's master (with ``workers`` > 1 it only supervises) over ``build_migrated``.
    Slow clients are cut off (issue 9): see app.core.slow_clients for the three deadlines.
    Small responses leave in one write: see app.core.coalesced_writes. Cached documents are
    answered by the protocol: see app.core.protocol_answers."""
    import uvicorn

    uvicorn.run("app.asgi:build_migrated", host=host, port=port, workers=workers,
                factory=True, log_level="info", access_log=False, proxy_headers=True,
                http=WORKER_PROTOCOL)
