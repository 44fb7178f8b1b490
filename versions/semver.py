"""SemVer 2.0.0 versions: strict parsing and precedence.

    >>> Version.parse("1.2.3-rc.1+build.5") < Version.parse("1.2.3")
    True

``Version.parse`` raises ``InvalidVersion`` (a ``ValueError``) with the reason. Build metadata
is kept but ignored for precedence and equality, as the spec says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import total_ordering
from typing import ClassVar

_NUM = r"0|[1-9]\d*"
_IDENT = r"(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
_SEMVER = re.compile(
    rf"^(?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})"
    rf"(?:-(?P<pre>{_IDENT}(?:\.{_IDENT})*))?"
    r"(?:\+(?P<build>[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
MAX_NUMBER = 2**53 - 1  # the largest integer the sort key (16 digits) and JSON round-trip


class InvalidVersion(ValueError):
    """The text is not a SemVer 2.0.0 version."""

    code: ClassVar[str] = "invalid_version"


@total_ordering
@dataclass(frozen=True, eq=False)
class Version:
    major: int
    minor: int
    patch: int
    prerelease: tuple[int | str, ...] = ()
    build: tuple[str, ...] = field(default=())

    @classmethod
    def parse(cls, text: str) -> Version:
        """Parse strict SemVer 2.0.0; raises ``InvalidVersion``."""
        if not isinstance(text, str):
            raise InvalidVersion(f"expected a string, got {type(text).__name__}")
        match = _SEMVER.match(text.strip()) if len(text) <= 256 else None
        if match is None:
            raise InvalidVersion(
                f"{text[:64]!r} is not MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] (SemVer 2.0.0)")
        numbers = [int(match.group(k)) for k in ("major", "minor", "patch")]
        if any(n > MAX_NUMBER for n in numbers):
            raise InvalidVersion(f"version numbers are limited to {MAX_NUMBER}")
        pre = match.group("pre")
        prerelease = tuple(int(p) if p.isdigit() else p for p in pre.split(".")) if pre else ()
        if any(isinstance(p, int) and p > MAX_NUMBER for p in prerelease):
            raise InvalidVersion(f"numeric pre-release identifiers are limited to {MAX_NUMBER}")
        build = tuple(match.group("build").split(".")) if match.group("build") else ()
        return cls(numbers[0], numbers[1], numbers[2], prerelease, build)

    @property
    def is_prerelease(self) -> bool:
        return bool(self.prerelease)

    @property
    def release(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    def _key(self) -> tuple[object, ...]:
        # A release sorts after all of its pre-releases; numeric identifiers sort before
        # alphanumeric ones, numerically; a longer pre-release list wins when equal so far.
        if not self.prerelease:
            return (self.release, (1,))
        parts = tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in self.prerelease)
        return (self.release, (0, parts))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self.release == other.release and self.prerelease == other.prerelease

    def __hash__(self) -> int:
        return hash((self.release, self.prerelease))

    def __lt__(self, other: Version) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        if self.release != other.release:
            return self.release < other.release
        if not self.prerelease or not other.prerelease:
            return bool(self.prerelease) and not other.prerelease
        for a, b in zip(self.prerelease, other.prerelease, strict=False):
            if a == b:
                continue
            if isinstance(a, int) and isinstance(b, int):
                return a < b
            if isinstance(a, int) != isinstance(b, int):
                return isinstance(a, int)
            return str(a) < str(b)
        return len(self.prerelease) < len(other.prerelease)

    def sort_key(self) -> str:
        """A string whose lexicographic (bytewise) order is SemVer precedence.

        Numbers are zero-padded to 16 digits (``MAX_NUMBER`` fits); a release gets ``~``,
        which sorts after the ``-`` that starts a pre-release. Pre-release identifiers are
        joined with ``.``: numeric ones as ``0`` + 16 digits, alphanumeric as ``1`` + text;
        the separator ``!`` sorts below every identifier character, so a shorter list wins.
        """
        head = "".join(f"{n:016d}" for n in self.release)
        if not self.prerelease:
            return head + "~"
        parts = [f"0{p:016d}" if isinstance(p, int) else f"1{p}" for p in self.prerelease]
        return head + "-" + "".join(p + "!" for p in parts)

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(str(p) for p in self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text

    def __repr__(self) -> str:
        return f"Version({str(self)!r})"
