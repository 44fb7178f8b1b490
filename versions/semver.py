"""SemVer 2.0.0 versions: strict parsing, precedence, and an SQL-sortable key.

    >>> from versions.semver import Version
    >>> v = Version.parse("1.2.3-beta.2+build.5")
    >>> (v.major, v.prerelease, v.build, v.is_prerelease)
    (1, ('beta', 2), ('build', '5'), True)
    >>> Version.parse("1.0.0-alpha") < Version.parse("1.0.0-alpha.1") < Version.parse("1.0.0")
    True
    >>> Version.parse("1.0.0+a") == Version.parse("1.0.0+b")   # build metadata is ignored
    True
    >>> sorted(["1.0.0", "1.0.0-rc.1"], key=lambda s: Version.parse(s).sort_key())
    ['1.0.0-rc.1', '1.0.0']

Parsing is strict (https://semver.org/#backusnaur-form-grammar-for-valid-semver-versions): no
leading ``v``, no leading zeros in numeric identifiers, no empty identifiers. Like node-semver,
a version is at most 256 characters and each of MAJOR, MINOR and PATCH is at most
``MAX_SAFE_INTEGER`` (2**53 - 1, JavaScript's largest exact integer). Numeric pre-release
identifiers have the same limit here (node-semver allows larger ones; they are refused rather
than mis-sorted), which keeps the sort key compact. On failure ``Version.parse`` raises
``InvalidVersion`` (a ``ValueError``, code ``invalid_version``) naming the problem.

Equality and hashing follow precedence: two versions that differ only in build metadata are
equal (as in node-semver, and as a registry must treat them: one cannot publish both).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from versions.errors import InvalidVersion

__all__ = ["MAX_LENGTH", "MAX_NUMBER", "MAX_SAFE_INTEGER", "InvalidVersion", "Version"]

MAX_LENGTH = 256
MAX_SAFE_INTEGER = 2**53 - 1
MAX_NUMBER = MAX_SAFE_INTEGER  # the largest MAJOR, MINOR, PATCH or numeric pre-release identifier
_NUMBER_WIDTH = len(str(MAX_SAFE_INTEGER))  # 16 digits

_NUM = r"0|[1-9]\d*"
_IDENT = r"[0-9A-Za-z-]+"
_VERSION_RE = re.compile(
    rf"(?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})"
    rf"(?:-(?P<pre>{_IDENT}(?:\.{_IDENT})*))?"
    rf"(?:\+(?P<build>{_IDENT}(?:\.{_IDENT})*))?"
)
_IDENT_RE = re.compile(_IDENT)

# A numeric pre-release identifier's sort-key prefix encodes its digit count: "0" for 1 digit
# up to "?" for 16 (0x30..0x3F). All of them sort above the "#" terminator and below "~", the
# prefix of alphanumeric identifiers, so numeric < alphanumeric (SemVer 11.4.3).
_LENGTH_CHARS = "0123456789:;<=>?"


def _normalize_pre(text: str, ident: int | str) -> int | str:
    """Validate one pre-release identifier; all-digit strings become ints."""
    if isinstance(ident, bool) or not isinstance(ident, int | str):
        raise InvalidVersion(text, f"pre-release identifier {ident!r} must be an int or str")
    if isinstance(ident, str):
        if not _IDENT_RE.fullmatch(ident):
            raise InvalidVersion(text, f"pre-release identifier {ident!r} must be [0-9A-Za-z-]+")
        if not ident.isdigit():
            return ident
        if len(ident) > 1 and ident[0] == "0":
            raise InvalidVersion(text, f"numeric identifier {ident!r} has a leading zero")
        ident = int(ident)
    if not 0 <= ident <= MAX_NUMBER:
        raise InvalidVersion(text, "numeric pre-release identifiers must be between 0 and 2**53-1")
    return ident


@dataclass(frozen=True, eq=False, slots=True)
class Version:
    """A SemVer 2.0.0 version. Construct with ``Version.parse`` or directly (validated).

    ``prerelease`` holds ints for numeric identifiers and strings otherwise (digit-only strings
    given to the constructor are converted). Raises ``InvalidVersion`` when a number is out of
    range or an identifier is malformed.
    """

    major: int
    minor: int
    patch: int
    prerelease: tuple[int | str, ...] = ()
    build: tuple[str, ...] = ()
    _key: tuple[Any, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        text = self._format()
        for name, number in (("major", self.major), ("minor", self.minor), ("patch", self.patch)):
            if isinstance(number, bool) or not isinstance(number, int):
                raise InvalidVersion(text, f"{name} must be an int")
            if not 0 <= number <= MAX_NUMBER:
                raise InvalidVersion(text, f"{name} must be between 0 and 2**53-1")
        pre = tuple(_normalize_pre(text, i) for i in self.prerelease)
        object.__setattr__(self, "prerelease", pre)
        for ident in self.build:
            if not isinstance(ident, str) or not _IDENT_RE.fullmatch(ident):
                raise InvalidVersion(text, f"build identifier {ident!r} must be [0-9A-Za-z-]+")
        # A release sorts after every pre-release of the same triple (SemVer 11.3); numeric
        # identifiers sort before alphanumeric ones (11.4.3); a longer list wins a tie (11.4.4).
        pre_key = tuple((0, i) if isinstance(i, int) else (1, i) for i in pre)
        key = (self.major, self.minor, self.patch, 0 if pre else 1, pre_key)
        object.__setattr__(self, "_key", key)

    @classmethod
    def parse(cls, text: str) -> Version:
        """Parse a strict SemVer 2.0.0 string.

        Raises ``InvalidVersion`` for anything else (``v1.2.3``, ``1.2``, ``01.2.3``, ``1.2.3-``,
        surrounding whitespace, more than 256 characters, a number above 2**53-1).
        """
        if not isinstance(text, str):
            raise InvalidVersion(repr(text), "a version must be a string")
        if len(text) > MAX_LENGTH:
            raise InvalidVersion(text[:40] + "...", f"longer than {MAX_LENGTH} characters")
        match = _VERSION_RE.fullmatch(text)
        if match is None:
            raise InvalidVersion(text, _explain(text))
        pre, build = match.group("pre"), match.group("build")
        return cls(
            int(match.group("major")),
            int(match.group("minor")),
            int(match.group("patch")),
            tuple(pre.split(".")) if pre else (),
            tuple(build.split(".")) if build else (),
        )

    @property
    def is_prerelease(self) -> bool:
        """True when the version carries a pre-release tag (``1.0.0-rc.1``)."""
        return bool(self.prerelease)

    @property
    def release(self) -> tuple[int, int, int]:
        """``(major, minor, patch)``."""
        return (self.major, self.minor, self.patch)

    def sort_key(self) -> str:
        """A string whose byte-wise (C collation) order equals SemVer precedence.

        Layout: MAJOR, MINOR, PATCH zero-padded to 16 digits (2**53-1 has 16), joined by ``.``;
        then ``~`` for a release, or ``-`` and the pre-release identifiers followed by ``!``.
        Each identifier ends with ``#``; a numeric one is a digit-count character (``0`` for
        one digit ... ``?`` for sixteen) followed by its digits, so it orders numerically; an
        alphanumeric one is ``~`` followed by its text. ``!`` and ``#`` sort below every other
        character used, so a shorter identifier list (and a shorter identifier) sorts first;
        ``~`` sorts above ``-``, so a release follows its pre-releases. Build metadata is not
        part of the key. The key is at most 450 characters (a 256-character version).

        Compare keys byte-wise: PostgreSQL ``COLLATE "C"``, SQLite's default ``BINARY``.
        Linguistic collations ignore punctuation and fold case, and break the order.
        """
        head = ".".join(str(n).zfill(_NUMBER_WIDTH) for n in self.release)
        if not self.prerelease:
            return head + "~"
        parts = []
        for ident in self.prerelease:
            if isinstance(ident, int):
                digits = str(ident)
                parts.append(_LENGTH_CHARS[len(digits) - 1] + digits + "#")
            else:
                parts.append("~" + ident + "#")
        return head + "-" + "".join(parts) + "!"

    def _format(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(str(i) for i in self.prerelease)
        if self.build:
            text += "+" + ".".join(str(i) for i in self.build)
        return text

    def __str__(self) -> str:
        return self._format()

    def __repr__(self) -> str:
        return f"Version({self._format()!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key == other._key

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return bool(self._key < other._key)

    # Defined directly (not by total_ordering) because resolution compares versions a lot.
    def __le__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return bool(self._key <= other._key)

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return bool(self._key > other._key)

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return bool(self._key >= other._key)

    def __hash__(self) -> int:
        return hash(self._key)


def _explain(text: str) -> str:
    """Say what is wrong with a string that failed the grammar, for the error message."""
    if text != text.strip():
        return "surrounding whitespace is not allowed"
    if text[:1] in ("v", "V", "="):
        return "a prefix such as 'v' or '=' is not allowed in a version (only in ranges)"
    core = re.split(r"[-+]", text, maxsplit=1)[0]
    numbers = core.split(".")
    if len(numbers) != 3:
        return "expected MAJOR.MINOR.PATCH, three dot-separated numbers"
    for number in numbers:
        if not number.isdigit():
            return f"{number!r} is not a non-negative integer"
        if len(number) > 1 and number[0] == "0":
            return f"numeric identifier {number!r} has a leading zero"
    return "pre-release and build identifiers must be non-empty [0-9A-Za-z-]+, dot-separated"
