"""Render a Jinja2 template into an HTML response with the pages' security headers.

    return render("package.html", {"page": page}, status=200)

The environment autoescapes every template (``.html``), so user-controlled text (package
descriptions, deprecation messages, advisory details) is always shown as text. Templates that
are missing raise ``jinja2.TemplateNotFound``; undefined variables raise
``jinja2.UndefinedError`` (``StrictUndefined``) instead of rendering empty.
"""

from __future__ import annotations

import functools
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

_HERE = Path(__file__).resolve().parent
TEMPLATE_DIR = _HERE / "templates"
STATIC_DIR = _HERE / "static"

# No inline script or style anywhere: scripts and styles come from /static only, fetch() only
# to this origin, no framing, forms post only here.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
])

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def package_url(name: str) -> str:
    """``/packages/@scope/name``: the scope's ``@`` and ``/`` stay literal, anything else
    unusual is percent-encoded."""
    return "/packages/" + quote(name, safe="@/")


def advisory_url(advisory_id: str) -> str:
    return "/advisories/" + quote(advisory_id, safe="")


def search_url(query: str, page: int = 1) -> str:
    params: dict[str, str | int] = {"q": query}
    if page > 1:
        params["page"] = page
    return "/search?" + urlencode(params)


def format_count(value: int) -> str:
    return f"{value:,}"


def format_date(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else ""


def format_datetime(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def safe_href(url: object) -> str | None:
    """Only http(s) links are rendered as links: a ``javascript:`` reference in an advisory
    must never become clickable."""
    if isinstance(url, str) and url.lower().startswith(("https://", "http://")):
        return url
    return None


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(count=format_count, date=format_date, datetime=format_datetime, iso=iso)
    env.globals.update(package_url=package_url, advisory_url=advisory_url,
                       search_url=search_url, safe_href=safe_href)
    return env


@functools.cache
def environment() -> Environment:
    """The one template environment (built on first use, not at import)."""
    return _environment()


def render(template: str, context: dict[str, Any], *, status: int = 200) -> HTMLResponse:
    """The rendered page with the security headers; ``context`` must hold every variable the
    template uses (``StrictUndefined``)."""
    html = environment().get_template(template).render(**context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
