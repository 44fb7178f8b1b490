"""Package URLs (purl) in OSV queries: ``pkg:pypi/requests@2.31.0`` -> (PyPI, requests, 2.31.0).

Example::

    >>> from advisories.purl import parse_purl
    >>> parse_purl("pkg:npm/%40hapi/hoek@8.5.0")
    PackageRef(ecosystem='npm', name='@hapi/hoek', version='8.5.0')
    >>> parse_purl("pkg:pypi/Django_REST@1.0").name
    'django-rest'

Types served: ``pypi`` (name PEP 503-normalised), ``npm`` and ``generic`` (both keep case; a
namespace ``@scope`` becomes part of the name, as npm writes it). Qualifiers (``?...``) and
subpaths (``#...``) are ignored, as OSV.dev does for matching. Raises InvalidPurl
(``invalid_purl``) for anything else. The OSV API refuses a versioned purl together with a
separate ``version`` field; that check belongs to the caller, which knows both.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from advisories.ecosystems import LOCAL_OSV_ECOSYSTEM, normalize_name
from advisories.errors import InvalidPurl

_TYPES = {"pypi": "PyPI", "npm": "npm", "generic": LOCAL_OSV_ECOSYSTEM}


@dataclass(frozen=True)
class PackageRef:
    ecosystem: str  # OSV name
    name: str
    version: str | None


def parse_purl(text: str) -> PackageRef:
    """Split a purl into OSV ecosystem, canonical name and optional version."""
    if not text.startswith("pkg:"):
        raise InvalidPurl(text, "must start with 'pkg:'")
    body = text[4:].lstrip("/").split("#", 1)[0].split("?", 1)[0]
    kind, _, path = body.partition("/")
    ecosystem = _TYPES.get(kind.lower())
    if ecosystem is None:
        raise InvalidPurl(text, f"unsupported package type {kind!r}")
    version: str | None = None
    if "@" in path.rsplit("/", 1)[-1]:
        path, _, raw_version = path.rpartition("@")
        version = unquote(raw_version) or None
    segments = [unquote(part) for part in path.split("/") if part]
    if not segments or len(segments) > 2:
        raise InvalidPurl(text, "expected [namespace/]name")
    name = "/".join(segments)
    if len(segments) == 2 and ecosystem == "PyPI":
        raise InvalidPurl(text, "pypi purls have no namespace")
    return PackageRef(ecosystem, normalize_name(ecosystem, name), version)
