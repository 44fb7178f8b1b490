"""Version ordering for OSV ranges: which parser orders a range, and comparable sort keys.

Example::

    from advisories.ordering import scheme_for, sort_key
    scheme = scheme_for("ECOSYSTEM", "PyPI")        # "pep440"
    sort_key(scheme, "2.32.0rc1") < sort_key(scheme, "2.32.0")     # True
    sort_key("semver", "0") == MINIMUM              # OSV's "0": before every version
    scheme_for("GIT", "PyPI") is None               # commits cannot be ordered here

``sort_key`` returns ``None`` for a version its scheme cannot parse (the caller decides what to
skip and report); it never raises. Keys are tuples so the OSV sentinels ``"0"`` (introduced
before every version) and ``"*"`` (limit: infinity) compare with real versions without ever
comparing a sentinel to a version object.

Schemes: ``SEMVER`` ranges always use SemVer 2.0.0 precedence (``versions.semver``); ``ECOSYSTEM``
ranges use PEP 440 (``packaging``) for PyPI and SemVer for npm and Vouch's generic packages.
Other ecosystems (RubyGems, Maven, ...) have no ordering here: only explicit version lists match.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

from packaging.version import InvalidVersion as Pep440Invalid
from packaging.version import Version as Pep440Version

from advisories.ecosystems import LOCAL_OSV_ECOSYSTEM, base_ecosystem
from versions.semver import InvalidVersion as InvalidSemVer
from versions.semver import Version as SemVer

Scheme = Literal["semver", "pep440"]
SortKey = tuple[Any, ...]

MINIMUM: SortKey = (0,)
INFINITY: SortKey = (2,)

_ECOSYSTEM_SCHEMES: dict[str, Scheme] = {
    "PyPI": "pep440",
    "npm": "semver",
    LOCAL_OSV_ECOSYSTEM: "semver",
}


def scheme_for(range_type: str, osv_ecosystem: str) -> Scheme | None:
    """The ordering scheme of a range of ``range_type`` in ``osv_ecosystem``, or None when
    this package cannot order it (GIT ranges, unsupported ecosystems)."""
    if range_type == "SEMVER":
        return "semver"
    if range_type == "ECOSYSTEM":
        return _ECOSYSTEM_SCHEMES.get(base_ecosystem(osv_ecosystem))
    return None


@lru_cache(maxsize=65536)
def sort_key(scheme: Scheme, text: str) -> SortKey | None:
    """The comparable key of version ``text`` under ``scheme``; None when it does not parse.

    ``"0"`` is the minimum under every scheme (OSV: "introduced: 0" means before all versions).
    Cached: records repeat the same versions across thousands of ranges.
    """
    if text == "0":
        return MINIMUM
    parsed = _parse(scheme, text)
    return None if parsed is None else (1, parsed)


def parse_error(scheme: Scheme, text: str) -> str | None:
    """Why ``text`` is not a version under ``scheme`` (None if it is one)."""
    if sort_key(scheme, text) is not None:
        return None
    label = "a PEP 440" if scheme == "pep440" else "a SemVer 2.0.0"
    return f"{text!r} is not {label} version"


def _parse(scheme: Scheme, text: str) -> Any:
    if scheme == "pep440":
        try:
            return Pep440Version(text)
        except Pep440Invalid:
            return None
    return _parse_semver(text)


def _parse_semver(text: str) -> Any:
    try:
        return SemVer.parse(text)
    except InvalidSemVer:
        return None
