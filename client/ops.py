"""Operations commands that run against the configured database: `vouch worker`,
`vouch search reindex`. Like `vouch admin`, they apply pending migrations first."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from client import output
from client.admin import _settings

if TYPE_CHECKING:
    from app.registry import Registry

search_app = typer.Typer(help="Maintain the search index.", no_args_is_help=True)


def _registry() -> Registry:
    from app.registry import Registry

    return Registry.build(_settings())


def worker() -> None:
    """Drain the outbox (search index updates) until interrupted."""
    registry = _registry()
    output.err.print("vouch worker: draining the outbox (Ctrl-C to stop)")
    try:
        registry.worker.run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        registry.close()


@search_app.command("reindex")
def reindex() -> None:
    """Rebuild the search index from the database and swap it in without downtime."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from app.core.db import session_scope
    from app.search.documents import all_search_documents

    registry = _registry()
    try:
        with session_scope(registry.engine) as session, Progress(
                SpinnerColumn(), TextColumn("{task.description}"), console=output.err) as bar:
            task = bar.add_task("indexed 0 packages", total=None)
            count = registry.search.rebuild(
                all_search_documents(session),
                progress=lambda n: bar.update(task, description=f"indexed {n} packages"))
    finally:
        registry.close()
    output.out.print(f"reindexed {count} packages")
