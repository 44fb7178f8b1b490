"""`vouch serve` and `vouch admin ...`: run against the configured database, no server needed.

Both apply pending migrations first, so they work on an empty data directory.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

import typer

from client.errors import ClientError, UsageError

if TYPE_CHECKING:
    from app.config import Settings

# The app modules (SQLAlchemy, Alembic) are imported inside the commands: they cost ~0.6 s,
# which every other `vouch` command should not pay.

admin_app = typer.Typer(help="Administer the registry database directly (no server needed).",
                        no_args_is_help=True)


def _settings() -> Settings:
    from app.config import Settings

    try:
        return Settings()
    except Exception as err:  # pydantic.ValidationError: show it as a usage error
        raise UsageError(f"invalid configuration: {err}") from err


def _engine() -> Any:
    from app.db import make_engine, upgrade

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    return engine


@admin_app.command("migrate")
def migrate() -> None:
    """Apply pending database migrations."""
    _engine().dispose()
    typer.echo("database is up to date", err=True)


@admin_app.command("create-user")
def create_user(name: str, admin: bool = typer.Option(False, "--admin"),
                security: bool = typer.Option(False, "--security")) -> None:
    """Create a user (roles: --admin, --security)."""
    from app.clock import SystemClock
    from app.db import session_scope
    from app.errors import DomainError
    from app.services import accounts

    engine = _engine()
    try:
        with session_scope(engine, write=True) as session:
            accounts.create_user(session, name, now=SystemClock().now(), actor="cli:admin",
                                 admin=admin, security=security)
    except DomainError as err:
        raise ClientError(err.detail, code=err.code) from err
    finally:
        engine.dispose()
    typer.echo(f"created user {name}", err=True)


@admin_app.command("create-token")
def create_token(
    name: str,
    token_name: str = typer.Option("cli", "--name", help="a label for the token"),
    action: list[str] = typer.Option([], "--action", help="restrict to these actions"),
    package: list[str] = typer.Option([], "--package", help="restrict to these name patterns"),
    expires_in: str | None = typer.Option(None, "--expires-in", help="e.g. 90d, 24h"),
) -> None:
    """Create an API token for user NAME and print only the token on stdout."""
    from app.clock import SystemClock
    from app.db import session_scope
    from app.durations import parse_duration
    from app.errors import DomainError
    from app.services import accounts

    expires: timedelta | None = None
    if expires_in:
        try:
            expires = parse_duration(expires_in)
        except ValueError as err:
            raise UsageError(str(err)) from err
    engine = _engine()
    try:
        with session_scope(engine, write=True) as session:
            user = accounts.get_user(session, name)
            _, secret = accounts.create_token(session, user, now=SystemClock().now(),
                                              name=token_name, actions=action, packages=package,
                                              expires_in=expires, actor="cli:admin")
    except DomainError as err:
        raise ClientError(err.detail, code=err.code) from err
    finally:
        engine.dispose()
    typer.echo(secret)


@admin_app.command("sweep-blobs")
def sweep_blobs(min_age: str = typer.Option("1h", "--min-age",
                                            help="leave younger blobs alone (in-flight)")) -> None:
    """Delete stored blobs that no database row references, and the temporary files of
    processes that died mid-write (crash leftovers; files a live process holds are kept)."""
    from app.durations import parse_duration
    from app.registry import Registry
    from app.services.sweep import sweep_orphans, sweep_temporary_files

    try:
        age = parse_duration(min_age)
    except ValueError as err:
        raise UsageError(str(err)) from err
    registry = Registry.build(_settings())
    try:
        temporary = sweep_temporary_files(registry.publish.staging_dir, registry.blobs)
        removed = sweep_orphans(registry.engine, registry.blobs, registry.clock, min_age=age)
    finally:
        registry.close()
    typer.echo(f"removed {temporary}", err=True)
    typer.echo(f"removed {len(removed)} orphaned blobs", err=True)
    for digest in removed:
        typer.echo(digest)


def serve(host: str, port: int, workers: int) -> None:
    """Run the registry with uvicorn (migrations are applied at start-up)."""
    import uvicorn

    from app.db import make_engine, upgrade

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    upgrade(engine)
    engine.dispose()
    from app.slow_clients import protocol_factory

    # Slow clients are cut off (issue 9): see app.slow_clients for the three deadlines.
    uvicorn.run("app.asgi:build", host=host, port=port, workers=workers, factory=True,
                log_level="info", access_log=False, proxy_headers=True,
                http=protocol_factory(settings))  # type: ignore[arg-type]
