"""One interface over the version schemes of each ecosystem.

    >>> from versions.schemes import get_scheme
    >>> npm = get_scheme("npm")
    >>> npm.satisfies(npm.parse_range("^1.2"), npm.parse_version("1.9.0"))
    True
    >>> pypi = get_scheme("pypi")
    >>> pypi.satisfies(pypi.parse_range("~=1.4"), pypi.parse_version("1.9"))
    True
    >>> found = [pypi.parse_version(v) for v in ("1.0", "1.5", "2.0")]
    >>> str(pypi.max_satisfying(pypi.parse_range("<2"), found))
    '1.5'

``generic`` and ``npm`` use SemVer 2.0.0 with the npm range grammar; ``pypi`` uses PEP 440
versions and specifiers. Every scheme raises ``InvalidVersion`` / ``InvalidRange`` (never the
underlying library's errors); ``get_scheme`` raises ``UnknownEcosystem`` (code
``unknown_ecosystem``) for any other name.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, Protocol, TypeVar

from versions import pep440
from versions.errors import VersionsError
from versions.npm_range import Range
from versions.semver import Version

__all__ = ["NPM", "PYPI", "SCHEMES", "UnknownEcosystem", "VersionScheme", "get_scheme"]

V = TypeVar("V")
R = TypeVar("R")


class UnknownEcosystem(VersionsError, ValueError):
    """No version scheme is registered for this ecosystem name."""

    code = "unknown_ecosystem"

    def __init__(self, ecosystem: str) -> None:
        self.ecosystem = ecosystem
        known = ", ".join(sorted(SCHEMES))
        super().__init__(f"unknown ecosystem {ecosystem!r}; known: {known}")


class VersionScheme(Protocol[V, R]):
    """What the registry, the resolver and the client need from a version scheme."""

    name: str

    def parse_version(self, text: str) -> V:
        """Parse a version; raises ``InvalidVersion``."""
        ...

    def parse_range(self, text: str) -> R:
        """Parse a range / specifier; raises ``InvalidRange``."""
        ...

    def satisfies(self, range_: R, version: V, include_prerelease: bool = False) -> bool:
        """Whether ``version`` is in ``range_`` (pre-releases per the scheme's rule)."""
        ...

    def sort_key(self, version: V) -> str:
        """A string whose byte-wise order equals the scheme's version order."""
        ...

    def is_prerelease(self, version: V) -> bool:
        """Whether the version is a pre-release (or, for PEP 440, a dev release)."""
        ...

    def max_satisfying(self, range_: R, versions: Iterable[V]) -> V | None:
        """The highest of ``versions`` in ``range_``, or ``None``."""
        ...


class _Scheme(Generic[V, R]):
    """Shared ``max_satisfying`` for the concrete schemes."""

    def satisfies(self, range_: R, version: V, include_prerelease: bool = False) -> bool:
        raise NotImplementedError

    def max_satisfying(self, range_: R, versions: Iterable[V]) -> V | None:
        best: V | None = None
        for v in versions:
            if (best is None or v > best) and self.satisfies(range_, v):  # type: ignore[operator]
                best = v
        return best


class SemverScheme(_Scheme[Version, Range]):
    """SemVer 2.0.0 versions with node-semver ranges (``generic`` and ``npm``)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def parse_version(self, text: str) -> Version:
        return Version.parse(text)

    def parse_range(self, text: str) -> Range:
        return Range.parse(text)

    def satisfies(self, range_: Range, version: Version, include_prerelease: bool = False) -> bool:
        return range_.satisfies(version, include_prerelease)

    def sort_key(self, version: Version) -> str:
        return version.sort_key()

    def is_prerelease(self, version: Version) -> bool:
        return version.is_prerelease


class Pep440Scheme(_Scheme[pep440.Pep440Version, pep440.SpecifierSet]):
    """PEP 440 versions and specifier sets (``pypi``)."""

    name = "pypi"

    def parse_version(self, text: str) -> pep440.Pep440Version:
        return pep440.parse_version(text)

    def parse_range(self, text: str) -> pep440.SpecifierSet:
        return pep440.parse_specifier(text)

    def satisfies(
        self,
        range_: pep440.SpecifierSet,
        version: pep440.Pep440Version,
        include_prerelease: bool = False,
    ) -> bool:
        return pep440.satisfies(range_, version, include_prerelease)

    def sort_key(self, version: pep440.Pep440Version) -> str:
        return pep440.sort_key(version)

    def is_prerelease(self, version: pep440.Pep440Version) -> bool:
        return version.is_prerelease


NPM = SemverScheme("npm")
GENERIC = SemverScheme("generic")
PYPI = Pep440Scheme()
SCHEMES: dict[str, VersionScheme[Any, Any]] = {"generic": GENERIC, "npm": NPM, "pypi": PYPI}


def get_scheme(ecosystem: str) -> VersionScheme[Any, Any]:
    """The scheme for ``ecosystem``; raises ``UnknownEcosystem`` for an unknown name."""
    try:
        return SCHEMES[ecosystem]
    except KeyError:
        raise UnknownEcosystem(ecosystem) from None
