"""An upstream index's project page, read (issue 17's proxy): PEP 691 JSON, or PEP 503 HTML.

    files = parse_project_page(body, content_type, page_url)   # tuple[RemoteFile, ...]
    ACCEPT                                                     # what to ask an upstream for

Each file keeps what the proxy needs to verify and offer it: the filename (a wheel or sdist
name ``formats.pypi.filenames`` accepts; others are dropped), its absolute URL (fragment
removed), the sha256 the upstream advertises (``None`` when it advertises none: the proxy then
refuses to cache it, it cannot verify it), ``requires-python``, ``yanked``, the core-metadata
sha256 (PEP 658/714), size and upload time when given (PEP 700), and the PEP 740 provenance URL.
Raises ``InvalidUpstreamPage`` for a body that is neither.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin

from formats.errors import FormatError, InvalidFilename
from formats.pypi.filenames import parse_filename

ACCEPT = ("application/vnd.pypi.simple.v1+json, "
          "application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class InvalidUpstreamPage(FormatError):
    code = "upstream_invalid"


@dataclass(frozen=True)
class RemoteFile:
    filename: str
    version: str  # PEP 440 canonical, from the filename
    url: str  # absolute, no fragment
    sha256: str | None
    requires_python: str | None = None
    yanked: str | None = None  # None: not yanked; the reason ("" for none) when yanked
    core_metadata_sha256: str | None = None
    size: int | None = None
    upload_time: datetime | None = None
    provenance_url: str | None = None


def parse_project_page(body: bytes, content_type: str, page_url: str) -> tuple[RemoteFile, ...]:
    """The files of an upstream project page; raises ``InvalidUpstreamPage``."""
    media = content_type.split(";")[0].strip().lower()
    if media.endswith("+json") or media == "application/json":
        return _from_json(body, page_url)
    if "html" in media:
        return _from_html(body, page_url)
    raise InvalidUpstreamPage(f"the upstream answered {media or 'no content type'!r}, "
                              "not a Simple API page")


def _from_json(body: bytes, page_url: str) -> tuple[RemoteFile, ...]:
    try:
        document = json.loads(body)
        entries = document["files"]
        assert isinstance(entries, list)
    except (ValueError, KeyError, TypeError, AssertionError) as err:
        raise InvalidUpstreamPage("the upstream's PEP 691 page cannot be read") from err
    files = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        raw_hashes = entry.get("hashes")
        hashes: dict[str, object] = raw_hashes if isinstance(raw_hashes, dict) else {}
        metadata = entry.get("core-metadata", entry.get("data-dist-info-metadata"))
        yanked = entry.get("yanked", False)
        found = _file(
            str(entry.get("filename", "")), urljoin(page_url, str(entry.get("url", ""))),
            str(hashes.get("sha256", "")),
            requires_python=_text(entry.get("requires-python")),
            yanked=(yanked if isinstance(yanked, str) else "" if yanked else None),
            core_metadata=(str(metadata.get("sha256", "")) if isinstance(metadata, dict)
                           else None),
            size=entry.get("size") if isinstance(entry.get("size"), int) else None,
            upload_time=_time(entry.get("upload-time")),
            provenance=(urljoin(page_url, entry["provenance"])
                        if isinstance(entry.get("provenance"), str) else None))
        if found is not None:
            files.append(found)
    return tuple(files)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[dict[str, str | None], str]] = []
        self._open: dict[str, str | None] | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._open, self._text = dict(attrs), ""

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            self.links.append((self._open, self._text.strip()))
            self._open = None


def _from_html(body: bytes, page_url: str) -> tuple[RemoteFile, ...]:
    parser = _Links()
    try:
        parser.feed(body.decode("utf-8"))
        parser.close()
    except (UnicodeDecodeError, AssertionError) as err:
        raise InvalidUpstreamPage("the upstream's HTML page cannot be read") from err
    files = []
    for attrs, text in parser.links:
        href = attrs.get("href") or ""
        url, fragment = urldefrag(urljoin(page_url, href))
        algorithm, _, digest = fragment.partition("=")
        filename = url.rsplit("/", 1)[-1] or text
        metadata = attrs.get("data-core-metadata") or attrs.get("data-dist-info-metadata")
        found = _file(
            filename, url, digest.lower() if algorithm == "sha256" else "",
            requires_python=attrs.get("data-requires-python"),
            yanked=attrs.get("data-yanked") if "data-yanked" in attrs else None,
            core_metadata=(metadata[len("sha256="):].lower()
                           if metadata and metadata.startswith("sha256=") else None),
            size=None, upload_time=None, provenance=(
                urljoin(page_url, attrs["data-provenance"] or "")
                if attrs.get("data-provenance") else None))
        if found is not None:
            files.append(found)
    return tuple(files)


def _file(filename: str, url: str, sha256: str, *, requires_python: str | None,
          yanked: str | None, core_metadata: str | None, size: int | None,
          upload_time: datetime | None, provenance: str | None) -> RemoteFile | None:
    try:
        dist = parse_filename(filename)
    except InvalidFilename:
        return None  # eggs, .zip sdists, garbage: never offered
    if not url.startswith(("http://", "https://")):
        return None
    return RemoteFile(
        filename=dist.filename, version=dist.version, url=url,
        sha256=sha256 if _HEX64.match(sha256) else None,
        requires_python=requires_python or None, yanked=yanked,
        core_metadata_sha256=(core_metadata if core_metadata and _HEX64.match(core_metadata)
                              else None),
        size=size if size is not None and size >= 0 else None, upload_time=upload_time,
        provenance_url=provenance if provenance and provenance.startswith(("http://", "https://"))
        else None)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
