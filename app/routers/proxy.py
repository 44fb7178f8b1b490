"""The upstream proxy's operations and the name reservations (issue 17).

    GET  /api/v1/proxy/status                 per-upstream counters and cache size
    POST /api/v1/proxy/purge                  drop cached metadata (administrators)
    POST /api/v1/orgs/{org}/reservations      reserve a name or @scope (org owners)
    GET  /proxy                               the same status as a small page
"""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.deps import AdminDep, PrincipalDep, RegistryDep
from app.proxy import reservations
from app.proxy.schemas import (
    ProxyStatus,
    Purged,
    PurgeRequest,
    ReservationPublic,
    ReservationRequest,
)
from app.proxy.service import Proxies

router = APIRouter(prefix="/api/v1", tags=["proxy"])
page_router = APIRouter(tags=["proxy"])


@router.get("/proxy/status", response_model=ProxyStatus)
def proxy_status(request: Request) -> ProxyStatus:
    """Every configured upstream: hits, misses, errors, stale answers (this process), and the
    cache (files, bytes, pages, downloads, digest alerts)."""
    return ProxyStatus(upstreams=Proxies.of(request.app).status())


@router.post("/proxy/purge", response_model=Purged)
def proxy_purge(body: PurgeRequest, request: Request, _: AdminDep) -> Purged:
    """Drop cached upstream metadata (one name, one upstream, or all); files stay cached."""
    return Purged(purged=Proxies.of(request.app).purge(body.upstream, body.name))


@router.post("/orgs/{org}/reservations", status_code=201, response_model=ReservationPublic)
def reserve_name(org: str, body: ReservationRequest, principal: PrincipalDep,
                 registry: RegistryDep) -> ReservationPublic:
    """Reserve a name or ``@scope`` for the organisation: it never resolves upstream."""
    return reservations.reserve_name(registry, org, body.name, principal)


@page_router.get("/proxy", response_class=HTMLResponse, include_in_schema=False)
def proxy_page(request: Request) -> HTMLResponse:
    rows = "".join(
        f"<tr><td>{escape(u.name)}</td><td>{u.format}</td><td>{escape(u.url)}</td>"
        f"<td>{u.hits}</td><td>{u.misses}</td><td>{u.errors}</td><td>{u.stale}</td>"
        f"<td>{u.cached_files}</td><td>{u.cache_bytes}</td><td>{u.digest_alerts}</td></tr>"
        for u in Proxies.of(request.app).status())
    return HTMLResponse(
        "<!DOCTYPE html><html><head><title>Vouch upstream proxy</title></head><body>"
        "<h1>Upstream proxy</h1><table><tr><th>upstream</th><th>format</th><th>url</th>"
        "<th>hits</th><th>misses</th><th>errors</th><th>stale</th><th>cached files</th>"
        f"<th>cache bytes</th><th>digest alerts</th></tr>{rows}</table></body></html>")
