"""Server-rendered web pages: home with autocomplete, search results, package and advisory pages.

    from app.web import install_web
    install_web(app)        # adds the page routes and serves /static (CSS and plain JS)

Pages read through the same services the API uses (search index, version documents, the
advisory service); they never call the HTTP API. Every page carries a strict
Content-Security-Policy (``script-src 'self'``, no inline script or style), and every value
shown is escaped by Jinja's autoescape. Unknown packages and advisories answer a 404 HTML page.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.web.rendering import STATIC_DIR
from app.web.routes import router

__all__ = ["install_web", "router"]


def install_web(app: FastAPI) -> None:
    """Include the page routes and mount the static files under ``/static``."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
