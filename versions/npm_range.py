"""npm version ranges with node-semver's semantics.

    >>> Range.parse("^1.2.3 || >=2.5.0 <3").satisfies(Version.parse("2.6.0"))
    True

Grammar: ``||`` unions of space-separated comparator sets; each comparator is an exact version,
``<``, ``<=``, ``>``, ``>=``, ``=``, a hyphen range ``a - b``, an x-range (``1.x``, ``1.2.*``,
``*``, ``""``), a tilde or a caret range. A pre-release satisfies a range only if some
comparator of the same set names the same ``[major, minor, patch]`` with a pre-release.
``Range.parse`` raises ``InvalidRange`` with the offending text; nothing silently matches none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from versions.semver import InvalidVersion, Version


class InvalidRange(ValueError):
    """The text is not an npm version range."""

    code: ClassVar[str] = "invalid_range"


_XR = r"(?:[xX*]|0|[1-9]\d*)"
_PARTIAL = re.compile(
    rf"^v?(?P<M>{_XR})(?:\.(?P<m>{_XR})(?:\.(?P<p>{_XR})"
    r"(?:-?(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?)?)?$"
)
_OP = re.compile(r"^(<=|>=|<|>|=|~>|~|\^)?\s*(.*)$")


@dataclass(frozen=True)
class Comparator:
    op: str  # one of < <= > >= = ; "" means any
    version: Version | None

    def test(self, v: Version) -> bool:
        if self.version is None:
            return True
        if self.op == "<":
            return v < self.version
        if self.op == "<=":
            return v <= self.version
        if self.op == ">":
            return v > self.version
        if self.op == ">=":
            return v >= self.version
        return v == self.version

    def __str__(self) -> str:
        return "*" if self.version is None else f"{self.op}{self.version}"


@dataclass(frozen=True)
class _Partial:
    major: int | None
    minor: int | None
    patch: int | None
    pre: tuple[int | str, ...]

    def version(self) -> Version:
        return Version(self.major or 0, self.minor or 0, self.patch or 0, self.pre)


def _num(text: str | None) -> int | None:
    if text is None or text in ("x", "X", "*"):
        return None
    return int(text)


def _partial(text: str, whole: str) -> _Partial:
    match = _PARTIAL.match(text)
    if match is None:
        raise InvalidRange(f"{whole!r} is not a valid range: cannot read {text!r}")
    major, minor, patch = _num(match["M"]), _num(match["m"]), _num(match["p"])
    if major is None:
        minor = patch = None
    elif minor is None:
        patch = None
    pre: tuple[int | str, ...] = ()
    if match["pre"]:
        if patch is None:
            raise InvalidRange(f"{whole!r}: a pre-release needs a full version")
        try:
            pre = Version.parse(f"0.0.0-{match['pre']}").prerelease
        except InvalidVersion as err:
            raise InvalidRange(f"{whole!r}: bad pre-release in {text!r}") from err
    return _Partial(major, minor, patch, pre)


def _bump(p: _Partial, level: str) -> Version:
    """The exclusive upper bound after incrementing ``level``, as a ``-0`` pre-release."""
    major, minor = p.major or 0, p.minor or 0
    if level == "major":
        return Version(major + 1, 0, 0, (0,))
    if level == "minor":
        return Version(major, minor + 1, 0, (0,))
    return Version(major, minor, (p.patch or 0) + 1, (0,))


def _expand(token: str, whole: str) -> list[Comparator]:
    op_match = _OP.match(token)
    assert op_match is not None
    op, rest = op_match.group(1) or "", op_match.group(2)
    p = _partial(rest, whole)
    if op in ("~", "~>"):
        if p.major is None:
            return [Comparator("", None)]
        upper = _bump(p, "major" if p.minor is None else "minor")
        return [Comparator(">=", p.version()), Comparator("<", upper)]
    if op == "^":
        if p.major is None:
            return [Comparator("", None)]
        if p.major != 0 or p.minor is None:
            upper = _bump(p, "major")
        elif p.minor != 0 or p.patch is None:
            upper = _bump(p, "minor")
        else:
            upper = _bump(p, "patch")
        return [Comparator(">=", p.version()), Comparator("<", upper)]
    return _x_range(op, p)


def _x_range(op: str, p: _Partial) -> list[Comparator]:
    if p.major is None:
        return [Comparator("<", Version(0, 0, 0, (0,)))] if op in ("<", ">") else [
            Comparator("", None)]
    if p.minor is not None and p.patch is not None:
        return [Comparator(op or "=", p.version())]
    level = "major" if p.minor is None else "minor"
    if op in ("", "="):
        return [Comparator(">=", p.version()), Comparator("<", _bump(p, level))]
    if op == ">":
        return [Comparator(">=", _bump(p, level))]
    if op == "<=":
        return [Comparator("<", _bump(p, level))]
    if op == "<":
        return [Comparator("<", p.version().__class__(p.major, p.minor or 0, 0, (0,)))]
    return [Comparator(">=", p.version())]  # >=


def _hyphen(low: str, high: str, whole: str) -> list[Comparator]:
    lo, hi = _partial(low, whole), _partial(high, whole)
    result = [Comparator(">=", lo.version())] if lo.major is not None else []
    if hi.major is None:
        pass
    elif hi.minor is None:
        result.append(Comparator("<", _bump(hi, "major")))
    elif hi.patch is None:
        result.append(Comparator("<", _bump(hi, "minor")))
    else:
        result.append(Comparator("<=", hi.version()))
    return result or [Comparator("", None)]


_SPACE_AFTER_OP = re.compile(r"(<=|>=|<|>|=|~>|~|\^)\s+")


def _parse_set(text: str, whole: str) -> tuple[Comparator, ...]:
    text = _SPACE_AFTER_OP.sub(r"\1", text.strip())
    hyphen = re.fullmatch(r"(\S+)\s+-\s+(\S+)", text)
    if hyphen:
        return tuple(_hyphen(hyphen[1], hyphen[2], whole))
    comparators: list[Comparator] = []
    for token in text.split():
        comparators.extend(_expand(token, whole))
    return tuple(comparators) or (Comparator("", None),)


@dataclass(frozen=True)
class Range:
    text: str
    sets: tuple[tuple[Comparator, ...], ...]

    @classmethod
    def parse(cls, text: str) -> Range:
        """Parse an npm range; raises ``InvalidRange`` naming what could not be read."""
        if not isinstance(text, str) or len(text) > 1024:
            raise InvalidRange("a range is a string of at most 1024 characters")
        sets = tuple(_parse_set(part, text) for part in text.split("||"))
        return cls(text=text, sets=sets)

    def satisfies(self, version: Version, include_prerelease: bool = False) -> bool:
        return any(_set_ok(s, version, include_prerelease) for s in self.sets)

    def max_satisfying(self, versions: Iterable[Version]) -> Version | None:
        return max((v for v in versions if self.satisfies(v)), default=None)

    def __str__(self) -> str:
        return " || ".join(" ".join(str(c) for c in s) for s in self.sets)


def _set_ok(comparators: tuple[Comparator, ...], v: Version, include_prerelease: bool) -> bool:
    if not all(c.test(v) for c in comparators):
        return False
    if not v.is_prerelease or include_prerelease:
        return True
    # node-semver: a pre-release only matches if a comparator of the same tuple allows it.
    return any(c.version is not None and c.version.is_prerelease
               and c.version.release == v.release for c in comparators)
