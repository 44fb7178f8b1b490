"""The page routes: ``/``, ``/search``, ``/packages/{name}``, ``/advisories`` and
``/advisories/{id}``.

    app.include_router(router)      # see ``app.web.install_web``

Each route parses its input, calls one service (the search index, the version documents, the
advisory service) and renders a template. Unknown packages and advisories answer a 404 HTML
page; a search outage answers a 503 HTML page; bad paging shows the first page.
"""

from __future__ import annotations

import math

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from app.advisories.errors import AdvisoryNotFound
from app.core.db import session_scope
from app.core.errors import PackageNotFound
from app.deps import RegistryDep
from app.web.listings import ADVISORIES_PAGE, home_listings, published_advisories
from app.web.rendering import render
from app.web.views import advisory_view, package_page
from search import InvalidSearchRequest, SearchUnavailable
from search.protocol import MAX_RESULT_WINDOW

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20
MAX_QUERY = 200


def not_found(what: str, name: str) -> HTMLResponse:
    return render("not_found.html", {"title": f"{what} not found", "what": what, "name": name,
                                     "query": ""},
                  status=404)


def _page_number(raw: str) -> int:
    try:
        number = int(raw)
    except ValueError:
        return 1
    return min(max(number, 1), MAX_RESULT_WINDOW // PAGE_SIZE)


@router.get("/", response_class=HTMLResponse)
def home(registry: RegistryDep) -> HTMLResponse:
    with session_scope(registry.engine) as session:
        listings = home_listings(session, registry.advisories)
    return render("home.html", {"title": "Vouch", "query": "", "home": listings})


@router.get("/advisories", response_class=HTMLResponse)
def advisories(registry: RegistryDep,
               page: str = Query(default="1", max_length=10)) -> HTMLResponse:
    number = _page_number(page)
    rows = published_advisories(registry.advisories, limit=ADVISORIES_PAGE + 1,
                                offset=(number - 1) * ADVISORIES_PAGE)
    return render("advisories.html", {
        "title": "Security advisories", "query": "", "page": number,
        "advisories": rows[:ADVISORIES_PAGE], "more": len(rows) > ADVISORIES_PAGE})


@router.get("/search", response_class=HTMLResponse)
def search_page(registry: RegistryDep, q: str = "",
                page: str = Query(default="1", max_length=10)) -> HTMLResponse:
    query = q.strip()[:MAX_QUERY]
    number = _page_number(page)
    context: dict[str, object] = {"title": f"Search: {query}" if query else "Search",
                                  "query": query, "page": number, "pages": 0, "total": 0,
                                  "size": PAGE_SIZE,
                                  "results": [], "error": None}
    if not query:
        return render("search.html", context)
    try:
        result = registry.search.search(query, page=number, size=PAGE_SIZE)
    except InvalidSearchRequest as err:
        context["error"] = f"This search cannot be run: {err}"
        return render("search.html", context, status=400)
    except SearchUnavailable:
        context["error"] = "Search is unavailable right now. Please try again in a minute."
        return render("search.html", context, status=503)
    pages = min(math.ceil(result.total / PAGE_SIZE), MAX_RESULT_WINDOW // PAGE_SIZE)
    context.update(results=result.results, total=result.total, pages=pages)
    return render("search.html", context)


@router.get("/packages/{name:path}", response_class=HTMLResponse)
def package(name: str, registry: RegistryDep) -> HTMLResponse:
    try:
        with session_scope(registry.engine) as session:
            page = package_page(session, name, public_log=(
                registry.settings.sigstore_trust == "public-good"))
    except PackageNotFound:
        return not_found("Package", name)
    return render("package.html", {"title": page.package.name, "query": "", "page": page})


@router.get("/advisories/{advisory_id}", response_class=HTMLResponse)
def advisory(advisory_id: str, registry: RegistryDep) -> HTMLResponse:
    try:
        # Anonymous reader: drafts are not shown (they are the security team's).
        found = registry.advisories.detail(None, advisory_id)
    except AdvisoryNotFound:
        return not_found("Advisory", advisory_id)
    view = advisory_view(found)
    return render("advisory.html", {"title": f"{found.id}: {found.summary}", "query": "",
                                    "view": view})
