"""`vouch proxy status|purge`: the registry's upstream proxy (issue 17).

    vouch proxy status [--json]           # per upstream: hits, misses, errors, stale, cache
    vouch proxy purge [--upstream NAME] [--name PROJECT]   # administrators: drop cached metadata

Exit codes (``client.errors``): 0 ok, 1 refused by the registry, 2 usage, 3 unreachable.
"""

from __future__ import annotations

import typer

from client import output
from client.api import RegistryClient
from client.config import load_config

proxy_app = typer.Typer(help="The upstream proxy: status and cache purges.",
                        no_args_is_help=True)
JsonFlag = typer.Option(False, "--json", help="machine-readable output on stdout")


@proxy_app.command("status")
def proxy_status(as_json: bool = JsonFlag) -> None:
    """Per upstream: hit/miss/error/stale counts (since the server started), cached files,
    bytes and pages, downloads of cached files, digest alerts."""
    with RegistryClient(load_config()) as api:
        doc = api.json("GET", "/api/v1/proxy/status")
    if as_json:
        output.emit_json(doc)
        return
    if not doc["upstreams"]:
        output.out.print("no upstream is configured (VOUCH_UPSTREAMS)", markup=False)
    for u in doc["upstreams"]:
        state = "" if u["enabled"] else "  (format not proxied yet)"
        output.out.print(
            f"{u['name']}  {u['format']}  {u['url']}{state}\n"
            f"  hits {u['hits']}  misses {u['misses']}  errors {u['errors']}  "
            f"stale {u['stale']}\n"
            f"  cache: {u['cached_files']} files, {u['cache_bytes']} bytes, "
            f"{u['cached_pages']} pages; {u['downloads']} downloads; "
            f"{u['digest_alerts']} digest alerts", markup=False)


@proxy_app.command("purge")
def proxy_purge(upstream: str | None = typer.Option(None, "--upstream"),
                name: str | None = typer.Option(None, "--name"),
                as_json: bool = JsonFlag) -> None:
    """Drop cached upstream metadata (cached files stay: they never change)."""
    with RegistryClient(load_config()) as api:
        api.require_token()
        doc = api.json("POST", "/api/v1/proxy/purge", json={"upstream": upstream, "name": name})
    if as_json:
        output.emit_json(doc)
    else:
        output.out.print(f"purged {doc['purged']} cached page(s)", markup=False)
