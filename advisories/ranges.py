"""Is a version affected by one OSV ``affected[]`` entry? OSV.dev's evaluation, made safe.

Example::

    from advisories.ranges import is_affected, compile_affected
    entry = record.affected[0]
    is_affected(entry, "2.31.0", "PyPI")                  # True / False
    compiled = compile_affected(entry, "PyPI")            # parse once, match many times
    compiled.matches("2.31.0"); compiled.problems         # ranges skipped, and why

Order of evaluation (OSV schema "Evaluation", refined by OSV.dev's
``go/internal/osvutil/event.go`` and ``vulnerability_matching.go``):

1. The explicit ``versions`` list: exact string match (for PyPI also PEP 440 equality, so
   ``1.0`` matches a listed ``1.0.0``).
2. Each range on its own; the entry matches if any range does. In a range, ``limit`` events
   bound it first (the version must be below some limit; ``limit: "*"`` is infinity). The other
   events are sorted by version, ties broken introduced < last_affected < fixed < limit, then
   walked backwards: the first event at or below the version decides. ``introduced`` means
   affected, ``last_affected`` means affected only on an exact match, ``fixed`` means not.
   ``introduced: "0"`` is before every version.

Never raises on bad data: a range whose event version does not parse (or that cannot be ordered:
GIT ranges, ecosystems without a scheme here) is skipped and listed in ``problems``; if the queried
version itself does not parse, only the explicit list can match and that is reported too.
OSV.dev falls back to string ordering in that case; we do not, because a string order can
silently turn ``10.0`` into "below 9.0".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from advisories.ecosystems import base_ecosystem, to_osv_name
from advisories.models import Affected, Event, EventKind
from advisories.ordering import INFINITY, Scheme, SortKey, parse_error, scheme_for, sort_key

logger = logging.getLogger(__name__)

# OSV.dev's tie-break for events at the same version.
_RANK: dict[EventKind, int] = {"introduced": 0, "last_affected": 1, "fixed": 2, "limit": 3}


@dataclass(frozen=True)
class RangeProblem:
    """A range that was skipped (or a query version that could not be ordered), and why."""

    range_index: int | None
    reason: str


@dataclass(frozen=True)
class CompiledRange:
    scheme: Scheme
    events: tuple[tuple[SortKey, int, EventKind], ...]  # sorted, limits excluded
    limits: tuple[SortKey, ...]

    def matches(self, key: SortKey) -> bool:
        """Is the version with sort key ``key`` inside this range?"""
        if self.limits and not any(key < limit for limit in self.limits):
            return False
        for event_key, _rank, kind in reversed(self.events):
            if event_key <= key:
                if kind == "introduced":
                    return True
                if kind == "last_affected":
                    return event_key == key
                return False
        return False


@dataclass(frozen=True)
class Evaluation:
    affected: bool
    problems: tuple[RangeProblem, ...]


@dataclass(frozen=True)
class CompiledAffected:
    """One ``affected[]`` entry, pre-parsed for fast repeated matching."""

    ecosystem: str
    versions: frozenset[str]
    pep440_versions: frozenset[Version]
    ranges: tuple[CompiledRange, ...]
    problems: tuple[RangeProblem, ...]

    def evaluate(self, version: str) -> Evaluation:
        """Whether ``version`` is affected, with the problems met on the way."""
        if version in self.versions:
            return Evaluation(True, self.problems)
        if self.pep440_versions and _pep440(version) in self.pep440_versions:
            return Evaluation(True, self.problems)
        problems = self.problems
        for scheme in {compiled.scheme for compiled in self.ranges}:
            key = sort_key(scheme, version)
            if key is None:
                reason = f"query version: {parse_error(scheme, version)}; ranges not checked"
                problems += (RangeProblem(None, reason),)
                continue
            if any(r.matches(key) for r in self.ranges if r.scheme == scheme):
                return Evaluation(True, problems)
        return Evaluation(False, problems)

    def matches(self, version: str) -> bool:
        return self.evaluate(version).affected


def compile_affected(entry: Affected, ecosystem: str | None = None) -> CompiledAffected:
    """Pre-parse ``entry``. ``ecosystem`` (Vouch or OSV name) overrides the entry's own
    ``package.ecosystem``; with neither, only the explicit versions list can match."""
    osv_name = _osv_name(ecosystem, entry)
    listed = frozenset(entry.versions or ())
    pep440: frozenset[Version] = frozenset()
    if base_ecosystem(osv_name) == "PyPI":
        pep440 = frozenset(v for v in map(_pep440, listed) if v is not None)
    ranges: list[CompiledRange] = []
    problems: list[RangeProblem] = []
    for index, osv_range in enumerate(entry.ranges or ()):
        scheme = scheme_for(osv_range.type, osv_name)
        if scheme is None:
            if osv_range.type != "GIT":  # GIT ranges are expected: the versions list covers them
                reason = f"{osv_range.type} range in ecosystem {osv_name!r} cannot be ordered"
                problems.append(RangeProblem(index, reason))
            continue
        compiled, problem = _compile_range(index, scheme, osv_range.events)
        if problem is not None:
            logger.info("skipping range: %s", problem.reason)
            problems.append(problem)
        if compiled is not None:
            ranges.append(compiled)
    return CompiledAffected(osv_name, listed, pep440, tuple(ranges), tuple(problems))


def evaluate(entry: Affected, version: str, ecosystem: str | None = None) -> Evaluation:
    """Whether ``version`` is affected by ``entry``, with every skipped range reported."""
    return compile_affected(entry, ecosystem).evaluate(version)


def is_affected(entry: Affected, version: str, ecosystem: str | None = None) -> bool:
    """Whether ``version`` is affected by ``entry``. Never raises on malformed data."""
    return evaluate(entry, version, ecosystem).affected


def _compile_range(
    index: int, scheme: Scheme, events: list[Event]
) -> tuple[CompiledRange | None, RangeProblem | None]:
    ordered: list[tuple[SortKey, int, EventKind]] = []
    limits: list[SortKey] = []
    for event in events:
        kind, value = event.kind, event.value
        key = INFINITY if kind == "limit" and value == "*" else sort_key(scheme, value)
        if key is None:
            reason = f"range {index}: {kind} {parse_error(scheme, value)}; range skipped"
            return None, RangeProblem(index, reason)
        if kind == "limit":
            limits.append(key)
        else:
            ordered.append((key, _RANK[kind], kind))
    ordered.sort(key=lambda item: (item[0], item[1]))
    return CompiledRange(scheme, tuple(ordered), tuple(limits)), None


def _osv_name(ecosystem: str | None, entry: Affected) -> str:
    if ecosystem is None:
        return entry.package.ecosystem if entry.package is not None else ""
    return to_osv_name(ecosystem)


def _pep440(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None
