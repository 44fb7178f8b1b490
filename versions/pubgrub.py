"""PubGrub version solving over bitsets: the engine behind ``versions.resolver``.

    >>> from versions.pubgrub import Catalog, Solver
    >>> # Use versions.resolver.resolve(); this module is its engine.

The algorithm is Natalie Weizenbaum's PubGrub (Dart pub's ``doc/solver.md``): unit propagation
over *incompatibilities* (sets of terms that must not all hold), decisions that pick the best
version of one package, and conflict resolution that derives a new incompatibility (a learned
conflict) and backjumps to the decision level where it becomes useful. Learned
incompatibilities are never forgotten, so no combination is explored twice and unsatisfiable
graphs fail fast.

A term about a package is a bitset over that package's *states*: one bit per usable candidate
version (ascending order) plus one bit meaning "not selected". A positive term ("a ^1.0.0")
lacks the absent bit; its negation ("not a ^1.0.0") has it. Intersection, union, complement and
subset tests are then single integer operations, and every range is evaluated once per
package, against that package's candidates.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Catalog",
    "ConflictCause",
    "DependencyCause",
    "Incompatibility",
    "PackageInfo",
    "RootCause",
    "SolveFailure",
    "Solver",
]


_CONFLICT = "\x00conflict"  # never a package name
CHRONOLOGICAL_THRESHOLD = 100


@dataclass(eq=False, slots=True)
class PackageInfo:
    """The usable candidates of one package, ascending, and their bit layout."""

    name: str
    versions: list[Any]  # ascending
    dependencies: list[dict[str, str]]  # per version index
    preference: list[int]  # version indices, best first
    excluded: list[tuple[Any, str]]  # (version, why) for candidates never chosen
    absent: int = 0
    full: int = 0
    any_version: int = 0
    range_masks: dict[str, int] = field(default_factory=dict)
    range_errors: dict[str, str] = field(default_factory=dict)
    group_masks: dict[tuple[str, str], int] = field(default_factory=dict)
    missing: bool = False  # the registry does not know the package

    def __post_init__(self) -> None:
        n = len(self.versions)
        self.absent = 1 << n
        self.any_version = self.absent - 1
        self.full = self.any_version | self.absent


@dataclass(frozen=True, slots=True)
class RootCause:
    """The root package must be selected."""


@dataclass(frozen=True, slots=True)
class DependencyCause:
    """Versions ``mask`` of ``package`` depend on ``dependency`` within ``range_text``."""

    package: str
    mask: int
    dependency: str
    range_text: str


@dataclass(frozen=True, slots=True)
class ConflictCause:
    """Derived from two earlier incompatibilities."""

    left: Incompatibility
    right: Incompatibility


Cause = RootCause | DependencyCause | ConflictCause


@dataclass(eq=False, slots=True)
class Incompatibility:
    """Terms (package -> state bitset) that must not all hold at once."""

    terms: dict[str, int]
    cause: Cause

    @property
    def derived(self) -> bool:
        return isinstance(self.cause, ConflictCause)


@dataclass(eq=False, slots=True)
class _Assignment:
    package: str
    mask: int
    level: int
    cause: Incompatibility | None  # None for a decision
    index: int


class SolveFailure(Exception):
    """No solution: ``incompatibility`` is the root of the derivation that proves it."""

    def __init__(self, incompatibility: Incompatibility) -> None:
        self.incompatibility = incompatibility
        super().__init__("version solving failed")


class Catalog:
    """Loads packages on demand and evaluates ranges against their candidates (cached)."""

    def __init__(
        self,
        load: Callable[[str], PackageInfo],
        satisfies: Callable[[str, Any], bool],
        check_range: Callable[[str], str | None],
        mask_of: Callable[[str, list[Any]], int] | None = None,
    ) -> None:
        """``satisfies(range_text, version)``; ``check_range`` returns an error text or None;
        ``mask_of(range_text, ascending_versions)``, when given, computes a whole mask at once.
        """
        self._load = load
        self._satisfies = satisfies
        self._check_range = check_range
        self._mask_of = mask_of
        self.packages: dict[str, PackageInfo] = {}

    def get(self, name: str) -> PackageInfo:
        info = self.packages.get(name)
        if info is None:
            info = self.packages[name] = self._load(name)
        return info

    def range_mask(self, name: str, range_text: str) -> int:
        """Bits of ``name``'s candidates inside ``range_text`` (0 for an invalid range)."""
        info = self.get(name)
        mask = info.range_masks.get(range_text)
        if mask is None:
            error = self._check_range(range_text)
            mask = 0
            if error is not None:
                info.range_errors[range_text] = error
            elif self._mask_of is not None:
                mask = self._mask_of(range_text, info.versions)
            else:
                for i, version in enumerate(info.versions):
                    if self._satisfies(range_text, version):
                        mask |= 1 << i
            info.range_masks[range_text] = mask
        return mask

    def group_mask(self, name: str, dependency: str, range_text: str) -> int:
        """Bits of ``name``'s versions that depend on ``dependency`` with exactly this range."""
        info = self.get(name)
        key = (dependency, range_text)
        mask = info.group_masks.get(key)
        if mask is None:
            mask = 0
            for i, deps in enumerate(info.dependencies):
                if deps.get(dependency) == range_text:
                    mask |= 1 << i
            info.group_masks[key] = mask
        return mask


def bits(mask: int) -> Iterator[int]:
    """Indices of the set bits of ``mask``, ascending."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


class Solver:
    """One PubGrub run. ``solve()`` returns {package: version index} or raises SolveFailure."""

    def __init__(self, catalog: Catalog, root: str, prefetch: Callable[[Sequence[str]], None]):
        self.catalog = catalog
        self.root = root
        self._prefetch = prefetch
        self._by_package: dict[str, list[Incompatibility]] = {}
        self._dependency_incompats: dict[tuple[str, str, str], Incompatibility | None] = {}
        self._assignments: list[_Assignment] = []
        self._by_pkg_assign: dict[str, list[_Assignment]] = {}
        self._allowed: dict[str, int] = {}
        self._decisions: dict[str, int] = {}
        self._level = 0
        self._pending: set[str] = set()  # positive, undecided packages
        self._queue: list[tuple[int, str]] = []  # (remaining versions, package), lazy heap
        self._fresh: list[Incompatibility] = []  # added since the last propagation

    # -- incompatibilities -------------------------------------------------------------------

    def _add(self, incompat: Incompatibility) -> None:
        for package in incompat.terms:
            self._by_package.setdefault(package, []).append(incompat)
        self._fresh.append(incompat)

    def _dependency_incompat(self, package: str, version_index: int, dep: str, rng: str
                             ) -> Incompatibility | None:
        key = (package, dep, rng)
        if key in self._dependency_incompats:
            return self._dependency_incompats[key]
        catalog = self.catalog
        group = catalog.group_mask(package, dep, rng) or (1 << version_index)
        cause = DependencyCause(package, group, dep, rng)
        allowed = catalog.range_mask(dep, rng)
        incompat: Incompatibility | None
        if dep == package:  # a self-dependency only rules out versions outside its own range
            bad = group & ~allowed
            incompat = Incompatibility({package: bad}, cause) if bad else None
        elif allowed:  # "package@group and not dep@range" is impossible
            incompat = Incompatibility({package: group, dep: catalog.get(dep).full ^ allowed},
                                       cause)
        else:  # nothing satisfies the range: package@group alone is impossible
            incompat = Incompatibility({package: group}, cause)
        self._dependency_incompats[key] = incompat
        if incompat is None:
            return None
        self._dependency_incompats[key] = incompat
        self._add(incompat)
        return incompat

    # -- partial solution ----------------------------------------------------------------------

    def _allowed_mask(self, package: str) -> int:
        mask = self._allowed.get(package)
        return self.catalog.get(package).full if mask is None else mask

    def _assign(self, package: str, mask: int, cause: Incompatibility | None) -> None:
        info = self.catalog.get(package)
        current = self._allowed_mask(package) & mask
        assignment = _Assignment(package, mask, self._level, cause, len(self._assignments))
        self._assignments.append(assignment)
        self._by_pkg_assign.setdefault(package, []).append(assignment)
        self._allowed[package] = current
        if not current & info.absent and package not in self._decisions:
            self._pending.add(package)
            heapq.heappush(self._queue, ((current & info.any_version).bit_count(), package))

    def _backtrack(self, level: int) -> None:
        touched: set[str] = set()
        while self._assignments and self._assignments[-1].level > level:
            a = self._assignments.pop()
            self._by_pkg_assign[a.package].pop()
            touched.add(a.package)
            if a.cause is None:
                del self._decisions[a.package]
        self._level = level
        for package in touched:
            info = self.catalog.get(package)
            mask = info.full
            for a in self._by_pkg_assign[package]:
                mask &= a.mask
            if self._by_pkg_assign[package]:
                self._allowed[package] = mask
            else:
                del self._allowed[package]
            if not mask & info.absent and package not in self._decisions:
                self._pending.add(package)
                heapq.heappush(self._queue, ((mask & info.any_version).bit_count(), package))
            else:
                self._pending.discard(package)

    def _satisfier(self, package: str, term: int) -> _Assignment:
        """The earliest assignment after which the package's accumulated mask is inside term."""
        mask = self.catalog.get(package).full
        outside = ~term
        for a in self._by_pkg_assign[package]:
            mask &= a.mask
            if not mask & outside:
                return a
        raise AssertionError(f"{package}: term not satisfied by the partial solution")

    # -- the algorithm -------------------------------------------------------------------------

    def solve(self) -> dict[str, int]:
        root_info = self.catalog.get(self.root)
        self._add(Incompatibility({self.root: root_info.absent}, RootCause()))
        following: str | None = self.root
        while following is not None:
            self._propagate(following)
            following = self._decide()
        return dict(self._decisions)

    def _propagate(self, package: str) -> None:
        """Unit propagation from ``package``'s change, plus the incompatibilities just added.

        Only an incompatibility whose term for the changed package is now *satisfied* can
        force anything (unit propagation is monotone: states only narrow between conflicts),
        so the others are skipped with one bit test. New incompatibilities are checked once in
        full, since they may be unit already. A violated incompatibility is always caught when
        its last term becomes satisfied, which keeps the shortcut sound.
        """
        changed = {package}
        fresh, self._fresh = self._fresh, []
        for incompat in fresh:
            result = self._propagate_one(incompat)
            if result == _CONFLICT:
                changed = {self._learn(incompat)}
                break
            if result is not None:
                changed.add(result)
        allowed_of = self._allowed
        while changed:
            current = changed.pop()
            allowed = allowed_of.get(current)
            for incompat in reversed(self._by_package.get(current, ())):
                if allowed is not None and allowed & ~incompat.terms[current]:
                    continue  # current's term is not satisfied: nothing to derive here
                result = self._propagate_one(incompat)
                if result == _CONFLICT:
                    changed = {self._learn(incompat)}
                    break
                if result is not None:
                    changed.add(result)
                    if result == current:
                        allowed = allowed_of.get(current)

    def _learn(self, conflict: Incompatibility) -> str:
        """Resolve a conflict, backjump, and propagate the learned incompatibility."""
        root_cause = self._resolve_conflict(conflict)
        self._fresh.clear()
        derived = self._propagate_one(root_cause)
        assert derived is not None and derived != _CONFLICT, "a learned conflict must propagate"
        return derived

    def _propagate_one(self, incompat: Incompatibility) -> str | None:
        """Derive what ``incompat`` forces; the package changed, None, or ``_CONFLICT``."""
        unsatisfied: str | None = None
        catalog = self.catalog
        for package, term in incompat.terms.items():
            allowed = self._allowed.get(package)
            if allowed is None:
                allowed = catalog.get(package).full
            if not allowed & term:
                return None  # contradicted: this incompatibility cannot be violated
            if allowed & ~term:  # inconclusive
                if unsatisfied is not None:
                    return None
                unsatisfied = package
        if unsatisfied is None:
            return _CONFLICT
        info = catalog.get(unsatisfied)
        self._assign(unsatisfied, info.full ^ incompat.terms[unsatisfied], incompat)
        return unsatisfied

    def _decide(self) -> str | None:
        pending, queue = self._pending, self._queue
        while queue:
            # Fewest remaining versions first: conflicts surface early (pub does the same).
            # Entries are pushed on every change and checked when popped (a lazy heap).
            count, package = heapq.heappop(queue)
            if package not in pending:
                continue
            info = self.catalog.get(package)
            mask = self._allowed_mask(package) & info.any_version
            if mask.bit_count() != count:
                continue  # stale entry; a fresher one is in the heap
            pending.discard(package)
            chosen = next(i for i in info.preference if mask >> i & 1)
            dependencies = info.dependencies[chosen]
            self._prefetch([d for d in dependencies if d not in self.catalog.packages])
            conflicting = []
            for dep, rng in sorted(dependencies.items()):
                incompat = self._dependency_incompat(package, chosen, dep, rng)
                if incompat is not None and all(
                    p == package or not self._allowed_mask(p) & ~t
                    for p, t in incompat.terms.items()
                ):
                    conflicting.append(incompat)
            if conflicting:
                # Choosing this version would violate these at once: do not decide; have
                # propagation rule the version out (they may be cached from an earlier visit,
                # so queue them for a full check) and keep the package pending.
                self._fresh.extend(conflicting)
                pending.add(package)
                heapq.heappush(queue, (count, package))
            else:
                self._level += 1
                self._decisions[package] = chosen
                self._assign(package, 1 << chosen, None)
            return package
        if pending:  # cannot happen (every change pushes an entry); recover rather than stop
            for package in pending:
                mask = self._allowed_mask(package) & self.catalog.get(package).any_version
                heapq.heappush(queue, (mask.bit_count(), package))
            return self._decide()
        return None

    def _backjump_level(self, asserting: int, conflict: int) -> int:
        """Where to backtrack after learning: chronologically when the jump would be long.

        PubGrub (like CDCL) jumps back to the asserting level, where the learned
        incompatibility first propagates; every decision above it is undone and usually made
        again. When that would discard more than ``CHRONOLOGICAL_THRESHOLD`` levels, undo only
        the conflicting level instead (Nadel & Ryvchin, "Chronological Backtracking", SAT
        2018): the learned incompatibility is still unit there, its derivation simply sits at
        a higher level than necessary. Sound either way; this only changes how much work is
        redone.
        """
        if conflict - 1 - asserting > CHRONOLOGICAL_THRESHOLD:
            return conflict - 1
        return asserting

    def _is_failure(self, incompat: Incompatibility) -> bool:
        if not incompat.terms:
            return True
        if len(incompat.terms) == 1 and self.root in incompat.terms:
            term = incompat.terms[self.root]
            return not term & self.catalog.get(self.root).absent
        return False

    def _resolve_conflict(self, incompat: Incompatibility) -> Incompatibility:
        new = False
        while not self._is_failure(incompat):
            recent_term_pkg: str | None = None
            recent: _Assignment | None = None
            difference = 0
            previous_level = 1
            for package, term in incompat.terms.items():
                satisfier = self._satisfier(package, term)
                if recent is None:
                    recent_term_pkg, recent = package, satisfier
                elif recent.index < satisfier.index:
                    previous_level = max(previous_level, recent.level)
                    recent_term_pkg, recent = package, satisfier
                    difference = 0
                else:
                    previous_level = max(previous_level, satisfier.level)
                if recent_term_pkg == package:
                    # The satisfier may satisfy the term only together with earlier ones.
                    difference = recent.mask & ~term & self.catalog.get(package).full
                    if difference:
                        inverse = self.catalog.get(package).full ^ difference
                        previous_level = max(previous_level,
                                             self._satisfier(package, inverse).level)
            assert recent is not None and recent_term_pkg is not None
            if previous_level < recent.level or recent.cause is None:
                self._backtrack(self._backjump_level(previous_level, recent.level))
                if new:
                    self._add(incompat)
                return incompat
            # Resolve with the satisfier's cause: a new, more general incompatibility.
            terms: dict[str, int] = {}
            for package, term in incompat.terms.items():
                if package != recent_term_pkg:
                    terms[package] = term
            for package, term in recent.cause.terms.items():
                if package != recent.package:
                    terms[package] = terms.get(package, self.catalog.get(package).full) & term
            if difference:
                full = self.catalog.get(recent.package).full
                inverse = full ^ difference
                terms[recent.package] = terms.get(recent.package, full) & inverse
            incompat = Incompatibility(_normalize(terms, self.catalog), ConflictCause(
                incompat, recent.cause))
            new = True
        raise SolveFailure(incompat)


def _normalize(terms: dict[str, int], catalog: Catalog) -> dict[str, int]:
    """Drop terms that always hold (a full state set) so messages stay short."""
    return {p: t for p, t in terms.items() if t != catalog.get(p).full}

