"""`vouch search QUERY` (the registry's search API) and the operations commands that run
against the configured database: `vouch worker`, `vouch search --reindex`. Like `vouch admin`,
the operations commands refuse a data directory that holds no database (``client.local``)."""

from __future__ import annotations

import typer

from client import output
from client.api import RegistryClient
from client.config import load_config
from client.local import open_registry


def worker() -> None:
    """Drain the outbox (search index updates) until interrupted."""
    registry = open_registry()
    output.err.print("vouch worker: draining the outbox (Ctrl-C to stop)")
    try:
        registry.worker.run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        registry.close()


def search_command(
    query: list[str] = typer.Argument(None, help="words to search for"),
    scope: str | None = typer.Option(None, "--scope", help="only packages of @SCOPE"),
    keyword: str | None = typer.Option(None, "--keyword"),
    page: int = typer.Option(1, "--page", min=1),
    size: int = typer.Option(20, "--size", min=1, max=100),
    reindex_: bool = typer.Option(False, "--reindex",
                                  help="operators: rebuild the search index from the database"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output on stdout"),
) -> None:
    """Search the registry for QUERY (exact name first, then names, then descriptions).
    `vouch search --reindex` rebuilds the index from the database instead."""
    from client.errors import UsageError

    if reindex_:
        if query:
            raise UsageError("--reindex takes no QUERY")
        reindex()
        return
    if not query and not (scope or keyword):
        raise UsageError("give a QUERY (or --scope / --keyword), or --reindex")
    params: dict[str, object] = {"q": " ".join(query or []), "page": page, "size": size}
    if scope:
        params["scope"] = scope.removeprefix("@")
    if keyword:
        params["keyword"] = keyword
    with RegistryClient(load_config()) as api:
        body = api.json("GET", "/api/v1/search", params=params)
    if as_json:
        output.emit_json(body)
        return
    if not body["results"]:
        output.out.print("no packages found")
        return
    for hit in body["results"]:
        marks = [m for m, on in (("deprecated", hit.get("deprecated")),
                                 ("quarantined", hit.get("quarantined")),
                                 ("advisories", hit.get("has_advisories"))) if on]
        fmt = hit.get("format") or "generic"
        if fmt != "generic":  # other formats are labelled; a native line is as it was
            marks.insert(0, fmt)
        output.out.print(f"{hit['name']:<32} {hit.get('latest_version') or '-':<12} "
                         f"{hit.get('description') or ''}"
                         + (f"  [{', '.join(marks)}]" if marks else ""))
    shown = (page - 1) * size + len(body["results"])
    if body["total"] > shown:
        output.err.print(f"{shown} of {body['total']}: more with --page {page + 1}")


def reindex() -> None:
    """Rebuild the search index from the database and swap it in without downtime."""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from app.core.db import session_scope
    from app.search.documents import all_search_documents

    registry = open_registry()
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
