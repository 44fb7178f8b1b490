"""Simple Repository API 1.4 documents: the project list and project pages, in HTML (PEP 503)
and JSON (PEP 691), and the choice between them by ``Accept``.

    media = negotiate(request_accept_header)             # never None: HTML by default
    body = project_page(page, media)                     # bytes, for Content-Type ``media``
    body = project_list(["foo", "bar"], media)

A page carries per file: the URL with a ``#sha256=`` fragment (HTML) or ``hashes`` (JSON),
``requires-python``, ``size`` and ``upload-time`` (PEP 700), ``yanked`` with its reason (PEP
592), ``core-metadata`` and its legacy twin ``dist-info-metadata`` with the METADATA file's
sha256 (PEP 658/714), the ``provenance`` URL (PEP 740); per project ``versions`` (PEP 700) and
``project-status`` (PEP 792: a quarantined project lists no files).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape

API_VERSION = "1.4"
JSON = "application/vnd.pypi.simple.v1+json"
HTML = "application/vnd.pypi.simple.v1+html"
TEXT_HTML = "text/html"
_ALIASES = {
    JSON: JSON,
    "application/vnd.pypi.simple.latest+json": JSON,
    HTML: HTML,
    "application/vnd.pypi.simple.latest+html": HTML,
    TEXT_HTML: TEXT_HTML,
}
_PREFERENCE = (JSON, HTML, TEXT_HTML)  # ties between equal q-values


@dataclass(frozen=True)
class IndexFile:
    filename: str
    url: str  # without fragment or query string (clients append ".metadata")
    sha256: str
    size: int
    upload_time: datetime
    requires_python: str | None = None
    yanked: str | None = None  # None: not yanked; a reason (possibly "") when yanked
    core_metadata_sha256: str | None = None
    provenance_url: str | None = None


@dataclass(frozen=True)
class ProjectPage:
    name: str  # normalised
    versions: tuple[str, ...]
    files: tuple[IndexFile, ...]
    status: str = "active"  # active | archived | quarantined | deprecated (PEP 792)
    status_reason: str | None = None


def negotiate(accept: str | None) -> str:
    """The media type to answer with. No header, ``*/*`` or nothing we serve: ``text/html``
    (as PyPI: never 406). Highest q-value wins; equal ones by JSON, v1 HTML, text/html."""
    if not accept:
        return TEXT_HTML
    best: tuple[float, int, str] | None = None
    for part in accept.split(","):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        q = 1.0
        for param in fields[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media in ("*/*", "text/*"):
            media = TEXT_HTML
        chosen = _ALIASES.get(media)
        if chosen is None or q <= 0:
            continue
        rank = (q, -_PREFERENCE.index(chosen), chosen)
        if best is None or rank[:2] > best[:2]:
            best = rank
    return best[2] if best else TEXT_HTML


def content_type(media: str) -> str:
    return f"{media}; charset=utf-8" if media == TEXT_HTML else media


def project_list(names: Iterable[str], media: str, base: str = "/simple/") -> bytes:
    names = sorted(names)
    if media == JSON:
        return _json({"meta": {"api-version": API_VERSION},
                      "projects": [{"name": n} for n in names]})
    links = "".join(f'    <a href="{escape(base + n + "/")}">{escape(n)}</a>\n' for n in names)
    return _html("Simple index", links)


def project_page(page: ProjectPage, media: str) -> bytes:
    files = () if page.status == "quarantined" else page.files
    if media == JSON:
        status: dict[str, str] = {"status": page.status}
        if page.status_reason:
            status["reason"] = page.status_reason
        return _json({"meta": {"api-version": API_VERSION}, "name": page.name,
                      "project-status": status, "versions": list(page.versions),
                      "files": [_json_file(f) for f in files]})
    head = f'    <meta name="pypi:project-status" content="{escape(page.status)}">\n'
    if page.status_reason:
        head += (f'    <meta name="pypi:project-status-reason" '
                 f'content="{escape(page.status_reason)}">\n')
    links = "".join(_html_link(f) for f in files)
    return _html(f"Links for {page.name}", links, head=head, heading=f"Links for {page.name}")


def upload_time(at: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix and microseconds, as PyPI writes it."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json_file(f: IndexFile) -> dict[str, object]:
    metadata: dict[str, str] | bool = ({"sha256": f.core_metadata_sha256}
                                       if f.core_metadata_sha256 else False)
    return {"filename": f.filename, "url": f.url, "hashes": {"sha256": f.sha256},
            "requires-python": f.requires_python, "size": f.size,
            "upload-time": upload_time(f.upload_time),
            "yanked": (f.yanked or True) if f.yanked is not None else False,
            "core-metadata": metadata, "data-dist-info-metadata": metadata,
            "provenance": f.provenance_url}


def _html_link(f: IndexFile) -> str:
    attrs = [f'href="{escape(f.url)}#sha256={f.sha256}"']
    if f.requires_python:
        attrs.append(f'data-requires-python="{escape(f.requires_python)}"')
    if f.yanked is not None:
        attrs.append(f'data-yanked="{escape(f.yanked)}"')
    if f.core_metadata_sha256:
        attrs.append(f'data-dist-info-metadata="sha256={f.core_metadata_sha256}"')
        attrs.append(f'data-core-metadata="sha256={f.core_metadata_sha256}"')
    if f.provenance_url:
        attrs.append(f'data-provenance="{escape(f.provenance_url)}"')
    return f'    <a {" ".join(attrs)}>{escape(f.filename)}</a><br />\n'


def _html(title: str, body: str, *, head: str = "", heading: str = "") -> bytes:
    h1 = f"    <h1>{escape(heading)}</h1>\n" if heading else ""
    return ("<!DOCTYPE html>\n<html>\n  <head>\n"
            f'    <meta name="pypi:repository-version" content="{API_VERSION}">\n'
            f"{head}    <title>{escape(title)}</title>\n  </head>\n  <body>\n"
            f"{h1}{body}  </body>\n</html>\n").encode()


def _json(data: object) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
