"""PEP 440 versions and specifiers (the ``pypi`` ecosystem), through ``packaging``.

    >>> from versions.pep440 import parse_version, parse_specifier, satisfies, sort_key
    >>> satisfies(parse_specifier(">=1.0,<2"), parse_version("1.4.post1"))
    True
    >>> satisfies(parse_specifier(">=1.0"), parse_version("2.0rc1"))   # pre-releases excluded
    False
    >>> sort_key(parse_version("1.0")) == sort_key(parse_version("1.0.0"))
    True

``packaging`` errors become this library's own: ``InvalidVersion`` (code ``invalid_version``)
and ``InvalidRange`` (code ``invalid_range``), each naming the text that failed.
"""

from __future__ import annotations

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion as _PackagingInvalidVersion
from packaging.version import Version as Pep440Version

from versions.errors import InvalidRange, InvalidVersion

__all__ = [
    "Pep440Version",
    "SpecifierSet",
    "parse_specifier",
    "parse_version",
    "satisfies",
    "sort_key",
]

MAX_LENGTH = 256
_MAX_DIGITS = 99  # numbers are length-prefixed with two digits in the sort key


def parse_version(text: str) -> Pep440Version:
    """Parse a PEP 440 version (normalizing it, as pip does).

    Raises ``InvalidVersion`` for text ``packaging`` refuses, for more than 256 characters, and
    for a number of more than 99 digits (the sort key cannot order it).
    """
    if not isinstance(text, str):
        raise InvalidVersion(repr(text), "a version must be a string")
    if len(text) > MAX_LENGTH:
        raise InvalidVersion(text[:40] + "...", f"longer than {MAX_LENGTH} characters")
    try:
        version = Pep440Version(text)
    except _PackagingInvalidVersion as err:
        raise InvalidVersion(text, "not a PEP 440 version") from err
    numbers = [version.epoch, *version.release, version.pre[1] if version.pre else 0,
               version.post or 0, version.dev or 0]
    if any(len(str(n)) > _MAX_DIGITS for n in numbers):
        raise InvalidVersion(text, f"a number has more than {_MAX_DIGITS} digits")
    return version


def parse_specifier(text: str) -> SpecifierSet:
    """Parse a PEP 440 specifier set (``>=1.0,<2``, ``~=1.4``, ``==1.*``; ``""`` is any).

    Raises ``InvalidRange`` for anything ``packaging`` refuses.
    """
    if not isinstance(text, str):
        raise InvalidRange(repr(text), "a specifier must be a string")
    try:
        return SpecifierSet(text)
    except InvalidSpecifier as err:
        raise InvalidRange(text, f"not a PEP 440 specifier set ({err})") from err


def satisfies(spec: SpecifierSet, version: Pep440Version, include_prerelease: bool = False) -> bool:
    """PEP 440 containment; pre-releases match only when asked for or named by the specifier.

    (``packaging`` 26 lets a lone pre-release match by default; the PEP 440 rule of accepting
    pre-releases "when nothing else satisfies" is a resolver policy, so it is not applied here.)
    """
    allow = True if include_prerelease else bool(spec.prereleases)
    return spec.contains(version, prereleases=allow)


def _num(n: int) -> str:
    digits = str(n)
    return f"{len(digits):02d}{digits}"


def sort_key(version: Pep440Version) -> str:
    """A string whose byte-wise order equals PEP 440 ordering (as ``packaging`` sorts).

    Fields, each self-delimiting, in ``packaging``'s comparison order: epoch; the release with
    trailing zeros dropped (``.`` + number per component, ``!`` at the end, so ``1.0 == 1``);
    the pre-release phase (``0`` for a dev-only release, ``1a``/``1b``/``1rc`` + number, ``2``
    for none); post (``0`` none, ``1`` + number); dev (``1`` + number, ``2`` none); local (``0``
    none, else ``1`` + segments, strings ``0text#`` before numbers ``1number#``, then ``!``).
    Numbers are written as a two-digit length and their digits. Compare with a byte-wise
    collation (PostgreSQL ``COLLATE "C"``).
    """
    release = list(version.release)
    while release and release[-1] == 0:
        release.pop()
    parts = [_num(version.epoch), "".join("." + _num(n) for n in release), "!"]
    if version.pre is not None:
        parts.append("1" + version.pre[0] + _num(version.pre[1]))
    elif version.post is None and version.dev is not None:
        parts.append("0")  # 1.0.dev1 sorts before 1.0a1
    else:
        parts.append("2")
    parts.append("0" if version.post is None else "1" + _num(version.post))
    parts.append("2" if version.dev is None else "1" + _num(version.dev))
    if version.local is None:
        parts.append("0")
    else:
        segments = version.local.split(".")
        encoded = ("1" + _num(int(s)) if s.isdigit() else "0" + s for s in segments)
        parts.append("1" + "".join(e + "#" for e in encoded) + "!")
    return "".join(parts)
