"""npm version ranges with node-semver's semantics (the ``semver`` package, v7).

    >>> from versions import Range, Version
    >>> r = Range.parse("^1.2.3 || >=2.5.0 <3")
    >>> r.satisfies(Version.parse("2.6.0")), r.satisfies(Version.parse("2.0.0"))
    (True, False)
    >>> str(Range.parse("~1.2"))
    '>=1.2.0 <1.3.0-0'
    >>> Range.parse("1.x").max_satisfying(Version.parse(v) for v in ["1.0.0", "1.9.0", "2.0.0"])
    Version('1.9.0')

Grammar: ``||`` unions of space-separated comparator sets (all comparators of a set must hold).
Each comparator is an exact version (``1.2.3``, ``=1.2.3``, ``v1.2.3``), a primitive comparison
(``<``, ``<=``, ``>``, ``>=``), a hyphen range (``1.2 - 2``), an x-range (``1.x``, ``1.2.*``,
``*``, ``""``, ``1``, ``1.2``), a tilde range (``~1.2.3``, ``~>1.2``) or a caret range
(``^1.2.3``, ``^0.2.3``, ``^0.0.3``, ``^0.x``, ``^0.0.x``). Desugaring follows node-semver
exactly, including its ``-0`` upper bounds (``^1.2.3`` is ``>=1.2.3 <2.0.0-0``), so
``str(Range.parse(x))`` equals ``new semver.Range(x).range``.

The pre-release rule: a version with a pre-release tag satisfies a comparator set only if some
comparator of the set names the same ``[major, minor, patch]`` with a pre-release tag, unless
``include_prerelease=True`` (which, as in node-semver, also lowers partial lower bounds to
``-0``).

``Range.parse`` raises ``InvalidRange`` (a ``ValueError``, code ``invalid_range``) naming the
part it could not read; a range never silently matches nothing (the only empty ranges are the
ones node-semver also defines as empty, such as ``<0.0.0-0`` or ``>*``). Ranges are at most
1024 characters.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from versions.errors import InvalidRange, InvalidVersion
from versions.semver import MAX_NUMBER, Version

__all__ = ["Comparator", "InvalidRange", "Range"]

MAX_RANGE_LENGTH = 1024

_XR = r"(?:[xX*]|0|[1-9]\d*)"
_ID = r"[0-9A-Za-z-]+"
_PARTIAL = re.compile(
    rf"v?(?P<M>{_XR})(?:\.(?P<m>{_XR})(?:\.(?P<p>{_XR})"
    rf"(?:-(?P<pre>{_ID}(?:\.{_ID})*))?"
    rf"(?:\+(?P<build>{_ID}(?:\.{_ID})*))?)?)?"
)
_TOKEN = re.compile(r"(?P<op><=|>=|<|>|=|~>|~|\^)?(?P<rest>.*)")
# node-semver's comparator/tilde/caret "trim": "> 1.2.3" and "~ 1.2" are one token.
_SPACE_AFTER_OP = re.compile(r"(<=|>=|<|>|=|~>|~|\^)\s+")
_HYPHEN = re.compile(r"(?P<low>\S+)\s+-\s+(?P<high>\S+)")
_ZERO = (0,)  # the "-0" pre-release: the lowest possible pre-release of a triple


@dataclass(frozen=True, slots=True)
class Comparator:
    """One primitive comparison: ``op`` is ``<``, ``<=``, ``>``, ``>=``, ``=``, or ``""`` (any)."""

    op: str
    version: Version | None

    def test(self, v: Version) -> bool:
        """Whether ``v`` passes this comparison (the pre-release rule is the range's job)."""
        target = self.version
        if target is None:
            return True
        op, key, mine = self.op, target._key, v._key
        if op == ">=":
            return bool(mine >= key)
        if op == "<":
            return bool(mine < key)
        if op == "<=":
            return bool(mine <= key)
        if op == ">":
            return bool(mine > key)
        return bool(mine == key)

    def __str__(self) -> str:
        return "" if self.version is None else f"{self.op if self.op != '=' else ''}{self.version}"


_ANY = Comparator("", None)


@dataclass(frozen=True, slots=True)
class _Partial:
    """A possibly incomplete version: ``None`` marks an x (or a missing part)."""

    major: int | None
    minor: int | None
    patch: int | None
    pre: tuple[int | str, ...]

    def floor(self, pre: tuple[int | str, ...] = ()) -> Version:
        return Version(self.major or 0, self.minor or 0, self.patch or 0, self.pre or pre)


def _number(text: str | None, whole: str) -> int | None:
    if text is None or text in ("x", "X", "*"):
        return None
    value = int(text)
    if value > MAX_NUMBER:
        raise InvalidRange(whole, f"number {text} is larger than 2**53-1")
    return value


def _partial(text: str, whole: str) -> _Partial:
    match = _PARTIAL.fullmatch(text)
    if match is None:
        raise InvalidRange(whole, f"cannot read {text!r} as a version or x-range")
    major, minor, patch = (_number(match[k], whole) for k in ("M", "m", "p"))
    # "1.x.3" means "1.x": everything after the first x is an x too.
    if major is None:
        minor = patch = None
    elif minor is None:
        patch = None
    pre: tuple[int | str, ...] = ()
    if match["pre"]:
        if patch is None:
            raise InvalidRange(whole, f"{text!r}: a pre-release tag needs a full version")
        try:
            pre = Version(0, 0, 0, tuple(match["pre"].split("."))).prerelease
        except InvalidVersion as err:
            raise InvalidRange(whole, f"{text!r}: {err.reason}") from err
    return _Partial(major, minor, patch, pre)


def _next_major(p: _Partial) -> Version:
    return Version((p.major or 0) + 1, 0, 0, _ZERO)


def _next_minor(p: _Partial) -> Version:
    return Version(p.major or 0, (p.minor or 0) + 1, 0, _ZERO)


def _next_patch(p: _Partial) -> Version:
    return Version(p.major or 0, p.minor or 0, (p.patch or 0) + 1, _ZERO)


def _tilde(p: _Partial) -> list[Comparator]:
    # node-semver replaceTilde: no "-0" on the lower bound even with includePrerelease.
    if p.major is None:
        return [_ANY]
    upper = _next_major(p) if p.minor is None else _next_minor(p)
    return [Comparator(">=", p.floor()), Comparator("<", upper)]


def _caret(p: _Partial, incpr: bool) -> list[Comparator]:
    if p.major is None:
        return [_ANY]
    z = _ZERO if incpr else ()
    if p.minor is None:
        return [Comparator(">=", p.floor(z)), Comparator("<", _next_major(p))]
    if p.patch is None:
        upper = _next_minor(p) if p.major == 0 else _next_major(p)
        return [Comparator(">=", p.floor(z)), Comparator("<", upper)]
    if p.major == 0:
        upper = _next_patch(p) if p.minor == 0 else _next_minor(p)
    else:
        upper = _next_major(p)
        z = ()  # node-semver: ^1.2.3 keeps a plain lower bound
    return [Comparator(">=", p.floor(z)), Comparator("<", upper)]


def _xrange(op: str, p: _Partial, incpr: bool) -> list[Comparator]:
    if p.patch is not None:  # a full version: a primitive comparator
        return [Comparator(op or "=", p.floor())]
    if p.major is None:  # "*", "x", ">=*": anything; ">*", "<*": nothing (node-semver)
        return [_NULL] if op in ("<", ">") else [_ANY]
    z = _ZERO if incpr else ()
    whole_major = p.minor is None
    if op in ("", "="):
        upper = _next_major(p) if whole_major else _next_minor(p)
        return [Comparator(">=", p.floor(z)), Comparator("<", upper)]
    if op == ">":  # >1 is >=2.0.0, >1.2 is >=1.3.0
        lower = _next_major(p) if whole_major else _next_minor(p)
        return [Comparator(">=", Version(*lower.release, z))]
    if op == "<=":  # <=1.2 is <1.3.0-0
        return [Comparator("<", _next_major(p) if whole_major else _next_minor(p))]
    if op == "<":  # <1.2 is <1.2.0-0
        return [Comparator("<", p.floor(_ZERO))]
    return [Comparator(">=", p.floor(z))]  # >=


def _hyphen(low: str, high: str, whole: str, incpr: bool) -> list[Comparator]:
    lo, hi = _partial(low, whole), _partial(high, whole)
    result: list[Comparator] = []
    if lo.major is not None:
        # floor() keeps an explicit pre-release; a plain lower bound drops to -0 under incpr.
        result.append(Comparator(">=", lo.floor(_ZERO if incpr else ())))
    if hi.major is None:
        pass
    elif hi.minor is None:
        result.append(Comparator("<", _next_major(hi)))
    elif hi.patch is None:
        result.append(Comparator("<", _next_minor(hi)))
    elif hi.pre:
        result.append(Comparator("<=", hi.floor()))
    elif incpr:
        result.append(Comparator("<", _next_patch(hi)))
    else:
        result.append(Comparator("<=", hi.floor()))
    return result or [_ANY]


def _token(token: str, whole: str, incpr: bool) -> list[Comparator]:
    match = _TOKEN.fullmatch(token)
    assert match is not None  # the pattern accepts every string
    op, rest = match["op"] or "", match["rest"]
    if not rest:
        raise InvalidRange(whole, f"operator {op!r} is not followed by a version")
    p = _partial(rest, whole)
    if op in ("~", "~>"):
        return _tilde(p)
    if op == "^":
        return _caret(p, incpr)
    return _xrange(op, p, incpr)


_NULL = Comparator("<", Version(0, 0, 0, _ZERO))  # matches nothing (node-semver's null set)


def _comparator_set(text: str, whole: str, incpr: bool) -> tuple[Comparator, ...]:
    text = text.strip()
    hyphen = _HYPHEN.fullmatch(text)
    if hyphen:
        found = _hyphen(hyphen["low"], hyphen["high"], whole, incpr)
    else:
        found = []
        for token in _SPACE_AFTER_OP.sub(r"\1", text).split():
            found.extend(_token(token, whole, incpr))
    # node-semver's simplifications, which change how a range prints, never what it matches:
    # ">=0.0.0" is "any", a null comparator empties the set, duplicates go.
    floor = Version(0, 0, 0, _ZERO if incpr else ())
    result: list[Comparator] = []
    for c in found:
        if c == _NULL:
            return (_NULL,)
        if c.op == ">=" and c.version == floor:
            c = _ANY
        if c not in result:
            result.append(c)
    if len(result) > 1 and _ANY in result:
        result.remove(_ANY)
    return tuple(result) or (_ANY,)


def _parse_sets(text: str, incpr: bool) -> tuple[tuple[Comparator, ...], ...]:
    sets = tuple(_comparator_set(part, text, incpr) for part in text.split("||"))
    if len(sets) > 1:
        sets = tuple(s for s in sets if s != (_NULL,)) or sets[:1]
        # a union containing "*" is "*"
        if (_ANY,) in sets:
            return ((_ANY,),)
    return sets


@dataclass(frozen=True, slots=True)
class Range:
    """A parsed npm range. Build with ``Range.parse``; hashable, so it can key caches."""

    raw: str
    sets: tuple[tuple[Comparator, ...], ...]
    sets_with_prerelease: tuple[tuple[Comparator, ...], ...]

    @classmethod
    def parse(cls, text: str) -> Range:
        """Parse an npm range.

        Raises ``InvalidRange`` naming what could not be read (``blerg``, ``>=1.2.3 <``,
        ``1.2.3 - ``, ``^1.2.3-``), for non-strings and for more than 1024 characters.
        """
        if not isinstance(text, str):
            raise InvalidRange(repr(text), "a range must be a string")
        if len(text) > MAX_RANGE_LENGTH:
            raise InvalidRange(text[:40] + "...", f"longer than {MAX_RANGE_LENGTH} characters")
        return cls(text, _parse_sets(text, False), _parse_sets(text, True))

    def satisfies(self, version: Version, include_prerelease: bool = False) -> bool:
        """Whether ``version`` is in the range (node-semver ``satisfies``)."""
        if include_prerelease:
            return any(all(c.test(version) for c in s) for s in self.sets_with_prerelease)
        return any(_test_set(s, version) for s in self.sets)

    def max_satisfying(
        self, versions: Iterable[Version], include_prerelease: bool = False
    ) -> Version | None:
        """The highest of ``versions`` in the range, or ``None`` when none is."""
        best: Version | None = None
        for v in versions:
            if (best is None or v > best) and self.satisfies(v, include_prerelease):
                best = v
        return best

    def satisfying_mask(self, ascending: Sequence[Version]) -> int:
        """Bitmask of the versions in the range: bit ``i`` is ``ascending[i]``.

        ``ascending`` must be sorted; each comparator set becomes an index interval found by
        bisection, and only pre-releases are then tested one by one (the pre-release rule).
        Same answers as ``satisfies`` on each version, in O(sets x log n).
        """
        keys = [v._key for v in ascending]
        pre = [i for i, v in enumerate(ascending) if v.prerelease]
        mask = 0
        for comparators in self.sets:
            start, end = 0, len(keys)
            for c in comparators:
                if c.version is None:
                    continue
                key = c.version._key
                if c.op == ">=":
                    start = max(start, bisect_left(keys, key))
                elif c.op == ">":
                    start = max(start, bisect_right(keys, key))
                elif c.op == "<":
                    end = min(end, bisect_left(keys, key))
                elif c.op == "<=":
                    end = min(end, bisect_right(keys, key))
                else:
                    start = max(start, bisect_left(keys, key))
                    end = min(end, bisect_right(keys, key))
            if start >= end:
                continue
            interval = (1 << end) - (1 << start)
            for i in pre:
                if start <= i < end and not _test_set(comparators, ascending[i]):
                    interval &= ~(1 << i)
            mask |= interval
        return mask

    def __str__(self) -> str:
        """The desugared form, as node-semver's ``Range#range`` prints it."""
        return "||".join(" ".join(str(c) for c in s) for s in self.sets)


def _test_set(comparators: tuple[Comparator, ...], v: Version) -> bool:
    for c in comparators:
        if not c.test(v):
            return False
    if not v.prerelease:
        return True
    # The pre-release rule: some comparator of this set must allow pre-releases of v's triple.
    for c in comparators:
        target = c.version
        if target is not None and target.prerelease and target.release == v.release:
            return True
    return False
