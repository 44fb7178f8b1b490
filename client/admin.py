"""`vouch serve` and `vouch admin ...`: run against the configured database, no server needed.

Both apply pending migrations first. `vouch serve` and `vouch admin migrate` create the
database when there is none; every other admin command refuses (exit 2) when the configured
data directory holds no database (``VOUCH_DATA_DIR``, default ``./var``, without
``VOUCH_DATABASE_URL``), naming both settings: run from the wrong directory, it would
otherwise create an empty registry there. ``vouch admin --create ...`` creates it anyway.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import typer

from client.errors import ClientError, UsageError
from client.local import migrated_engine, open_registry

# The app modules (SQLAlchemy, Alembic) are imported inside the commands: they cost ~0.6 s,
# which every other `vouch` command should not pay. Opening the database is client.local's.

admin_app = typer.Typer(help="Administer the registry database directly (no server needed).",
                        no_args_is_help=True)
_CREATE = {"allowed": False}


@admin_app.callback()
def _admin(create: bool = typer.Option(
        False, "--create", help="create the database if the data directory has none")) -> None:
    """Administer the registry database directly (no server needed)."""
    _CREATE["allowed"] = create


def _engine(*, create: bool = False) -> Any:
    return migrated_engine(create=create or _CREATE["allowed"])


@admin_app.command("migrate")
def migrate() -> None:
    """Apply pending database migrations (creating the database if there is none)."""
    _engine(create=True).dispose()
    typer.echo("database is up to date", err=True)


@admin_app.command("create-user")
def create_user(name: str, admin: bool = typer.Option(False, "--admin"),
                security: bool = typer.Option(False, "--security"),
                as_json: bool = typer.Option(False, "--json",
                                             help="machine-readable output on stdout")) -> None:
    """Create a user (roles: --admin, --security)."""
    from app.accounts import service as accounts
    from app.core.clock import SystemClock
    from app.core.db import session_scope
    from app.core.errors import DomainError

    engine = _engine()
    try:
        with session_scope(engine, write=True) as session:
            accounts.create_user(session, name, now=SystemClock().now(), actor="cli:admin",
                                 admin=admin, security=security)
    except DomainError as err:
        raise ClientError(err.detail, code=err.code) from err
    finally:
        engine.dispose()
    if as_json:
        from client import output

        output.emit_json({"name": name, "admin": admin, "security": security})
    else:
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
    from app.accounts import service as accounts
    from app.core.clock import SystemClock
    from app.core.db import session_scope
    from app.core.durations import parse_duration
    from app.core.errors import DomainError

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
    from app.core.durations import parse_duration
    from app.publishing.sweep import sweep_orphans, sweep_temporary_files

    try:
        age = parse_duration(min_age)
    except ValueError as err:
        raise UsageError(str(err)) from err
    registry = open_registry(create=_CREATE["allowed"])
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
    """Apply pending migrations, then become the server: this process is replaced (same pid)
    by a fresh interpreter running ``app.asgi.serve``, so the master that supervises the
    workers does not keep the CLI's and Alembic's imports (issue 13: idle memory)."""
    import os
    import sys

    migrated_engine(create=True).dispose()
    sys.stdout.flush()
    sys.stderr.flush()
    # -P: the current directory is not put on sys.path (it could shadow the app's modules).
    os.execv(sys.executable, [sys.executable, "-P", "-c",  # noqa: S606 (fixed argv)
                              "import sys; from app.asgi import serve; "
                              "serve(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))",
                              host, str(port), str(workers)])
