"""Open the registry this machine is configured for, straight from its database (no server):
shared by `vouch serve`, `vouch admin ...` (``client.admin``), `vouch worker` and
`vouch search --reindex` (``client.ops``).

    settings = load_settings()                 # VOUCH_* variables; UsageError if invalid
    settings = existing_settings()             # ... and refuse a data dir with no database
    engine = migrated_engine(create=False)     # the database, migrated
    registry = open_registry()                 # Registry.build over existing_settings()

Run from the wrong directory, a command would otherwise create an empty registry there: every
function here except ``load_settings`` refuses (``UsageError``, exit 2, naming
``VOUCH_DATA_DIR`` and ``VOUCH_DATABASE_URL``) when the configured data directory holds no
database, unless ``create=True``. With ``VOUCH_DATABASE_URL`` set, the database is the
server's to check. The app modules (SQLAlchemy, Alembic) are imported inside the functions:
they cost ~0.6 s, which the other `vouch` commands should not pay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from client.errors import UsageError

if TYPE_CHECKING:
    from app.core.config import Settings
    from app.registry import Registry


def load_settings() -> Settings:
    """The ``VOUCH_*`` settings; ``UsageError`` when they do not parse."""
    from app.core.config import Settings

    try:
        return Settings()
    except Exception as err:  # pydantic.ValidationError: show it as a usage error
        raise UsageError(f"invalid configuration: {err}") from err


def existing_settings(*, create: bool = False) -> Settings:
    """The settings, if they point at an existing database (or ``create``); else
    ``UsageError`` naming VOUCH_DATA_DIR and VOUCH_DATABASE_URL."""
    settings = load_settings()
    if settings.database_url or create:
        return settings
    database = settings.data_dir / "vouch.db"
    if not database.is_file():
        raise UsageError(
            f"no registry database at {database.resolve()}: set VOUCH_DATA_DIR to the "
            "registry's data directory (or VOUCH_DATABASE_URL to its database), or create a "
            "new one with `vouch admin migrate` (or `vouch admin --create ...`)")
    return settings


def migrated_engine(*, create: bool = False) -> Any:
    """An engine on the configured database with every migration applied (the database is
    created only with ``create``; else `existing_settings`' refusal). Dispose it when done."""
    from app.core.db import make_engine, upgrade

    settings = existing_settings(create=create)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    return engine


def open_registry(*, create: bool = False) -> Registry:
    """The whole registry (services, blob store, search) over the configured database, as the
    server builds it; close it when done. Refuses like `existing_settings`."""
    from app.registry import Registry

    return Registry.build(existing_settings(create=create))
