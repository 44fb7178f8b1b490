"""Resolver benchmark: versions.resolver (PubGrub) against pip's resolvelib, same graphs, same run.

    .venv/bin/python bench/bench_resolve.py [--packages 2000] [--versions 20] [--direct 200]
                                            [--seed 1] [--lag 0.001] [--timeout 120]

Scenarios (graphs from ``bench/synthetic.py``; metadata preloaded in memory, versions parsed
beforehand, both resolvers use ``versions.Range`` for matching, so the figures compare search):

1. the issue's graph: 2,000 packages x 20 versions, 5-15 caret dependencies per version, a root
   with 200 direct dependencies (target: < 2 s);
2. the same graph where a fraction ``--lag`` of dependencies point to an old major, so the
   newest versions conflict and the solvers must backtrack;
3. a crafted unsatisfiable graph whose conflict shows up late (target: a conflict error in
   < 5 s, not an exponential hang).

resolvelib runs twice per scenario with two preference rules: by name (constant time per call)
and fewest candidates first (finds conflicts early, but costs O(candidates) per open package per
round); each run gets ``--timeout`` seconds (stopped from its reporter hook), and the ratio uses
the faster one. Every solution found is checked against the graph. Exit status 1 if a target is
missed or a solution is wrong.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import resolvelib

from bench.synthetic import (
    Registry,
    make_root,
    make_synthetic_registry,
    make_unsatisfiable_registry,
)
from versions import Range, Version
from versions.resolver import (
    Candidate,
    InMemorySource,
    ResolutionImpossible,
    resolve,
)

# -- our side --------------------------------------------------------------------------------


def parsed_source(registry: Registry) -> InMemorySource:
    cache: dict[str, Version] = {}

    def parse(text: str) -> Version:
        if text not in cache:
            cache[text] = Version.parse(text)
        return cache[text]

    return InMemorySource({
        name: [Candidate(parse(v), deps) for v, deps in entries.items()]
        for name, entries in registry.items()
    })


def run_ours(registry: Registry, root: dict[str, str]) -> tuple[float, dict[str, str] | str]:
    source = parsed_source(registry)
    start = time.perf_counter()
    try:
        result = resolve(root, source, root_name="bench-root")
    except ResolutionImpossible as err:
        return time.perf_counter() - start, "conflict: " + (err.summary or err.derivation[-1])
    elapsed = time.perf_counter() - start
    return elapsed, {name: str(v) for name, v in result.items()}


# -- resolvelib side -------------------------------------------------------------------------

Req = tuple[str, Range]
Cand = tuple[str, Version, dict[str, str]]


class _Provider(resolvelib.AbstractProvider):  # type: ignore[misc]
    """resolvelib over the same graph: newest candidates first, conflict causes first (as pip)."""

    def __init__(self, registry: Registry, counting: bool) -> None:
        self.counting = counting
        self.ranges: dict[str, Range] = {}
        self.candidates: dict[str, list[Cand]] = {}
        for name, entries in registry.items():
            parsed = [(name, Version.parse(v), deps) for v, deps in entries.items()]
            self.candidates[name] = sorted(parsed, key=lambda c: c[1], reverse=True)

    def range(self, text: str) -> Range:
        if text not in self.ranges:
            self.ranges[text] = Range.parse(text)
        return self.ranges[text]

    def identify(self, requirement_or_candidate: Req | Cand) -> str:
        return requirement_or_candidate[0]

    def get_preference(self, identifier: str, resolutions: Mapping[str, Cand],
                       candidates: Mapping[str, Iterator[Cand]], information: Any,
                       backtrack_causes: Sequence[Any]) -> Any:
        if self.counting:  # conflict causes, then fewest candidates: O(candidates) per call
            causes = {c.requirement[0] for c in backtrack_causes}
            return (identifier not in causes, sum(1 for _ in candidates[identifier]), identifier)
        # Constant time per call (resolvelib asks for every open identifier every round).
        return (False, 0, identifier)

    def narrow_requirement_selection(self, identifiers: Iterable[str], resolutions: Any,
                                     candidates: Any, information: Any,
                                     backtrack_causes: Sequence[Any]) -> Iterable[str]:
        # pip's rule: work on the packages behind the last conflict first.
        if self.counting:
            return identifiers
        causes = {c.requirement[0] for c in backtrack_causes}
        chosen = [i for i in identifiers if i in causes]
        return chosen or identifiers

    def find_matches(self, identifier: str, requirements: Mapping[str, Iterator[Req]],
                     incompatibilities: Mapping[str, Iterator[Cand]]) -> Iterable[Cand]:
        reqs = list(requirements[identifier])
        bad = {c[1] for c in incompatibilities[identifier]}
        return [c for c in self.candidates.get(identifier, [])
                if c[1] not in bad and all(r[1].satisfies(c[1]) for r in reqs)]

    def is_satisfied_by(self, requirement: Req, candidate: Cand) -> bool:
        return requirement[1].satisfies(candidate[1])

    def get_dependencies(self, candidate: Cand) -> Iterable[Req]:
        return [(name, self.range(text)) for name, text in candidate[2].items()]


class _Deadline(resolvelib.BaseReporter):  # type: ignore[misc]
    def __init__(self, seconds: float) -> None:
        self.deadline = time.perf_counter() + seconds
        self.rounds = 0

    def starting_round(self, index: int) -> None:
        self.rounds = index
        if time.perf_counter() > self.deadline:
            raise TimeoutError


def run_resolvelib(registry: Registry, root: dict[str, str], timeout: float, counting: bool
                   ) -> tuple[float, dict[str, str] | str]:
    provider = _Provider(registry, counting)
    reporter = _Deadline(timeout)
    resolver = resolvelib.Resolver(provider, reporter)
    requirements = [(name, provider.range(text)) for name, text in root.items()]
    start = time.perf_counter()
    try:
        result = resolver.resolve(requirements, max_rounds=10_000_000)
    except resolvelib.ResolutionImpossible:
        return time.perf_counter() - start, "conflict"
    except TimeoutError:
        spent = time.perf_counter() - start
        return spent, f"gave up after {timeout:.0f} s ({reporter.rounds} rounds)"
    elapsed = time.perf_counter() - start
    return elapsed, {name: str(c[1]) for name, c in result.mapping.items()}


# -- checking and printing -------------------------------------------------------------------


def max_version(registry: Registry, name: str) -> str:
    return str(max(Version.parse(v) for v in registry[name]))


def check(registry: Registry, root: dict[str, str], chosen: dict[str, str]) -> str | None:
    """None when ``chosen`` satisfies every requirement of the graph, else the first problem."""
    def holds(name: str, text: str) -> bool:
        return name in chosen and Range.parse(text).satisfies(Version.parse(chosen[name]))

    for name, text in root.items():
        if not holds(name, text):
            return f"root requirement {name} {text} not met"
    for name, version in chosen.items():
        for dep, text in registry[name][version].items():
            if not holds(dep, text):
                return f"{name} {version} needs {dep} {text}, got {chosen.get(dep)}"
    return None


def scenario(title: str, registry: Registry, root: dict[str, str], timeout: float,
             target: float | None, expect_solution: bool) -> bool:
    print(f"\n== {title}")
    print(f"   {len(registry)} packages, {sum(len(e) for e in registry.values())} versions, "
          f"{len(root)} direct dependencies")
    ok = True
    results = [("versions.resolver", *run_ours(registry, root))]
    for label, counting in (("resolvelib [name]", False), ("resolvelib [fewest]", True)):
        results.append((label, *run_resolvelib(registry, root, timeout, counting)))
    for label, elapsed, outcome in results:
        if isinstance(outcome, dict):
            problem = check(registry, root, outcome)
            newest = sum(1 for n, v in outcome.items() if v == max_version(registry, n))
            status = f"{len(outcome)} packages chosen, {newest} at their newest version"
            status += f", WRONG: {problem}" if problem else ""
            ok = ok and problem is None and expect_solution
        else:
            status = outcome
        print(f"   {label:<20} {elapsed:8.3f} s  {status}")
    _, ours_time, ours = results[0]
    if isinstance(ours, str) and expect_solution:
        ok = False
    finished = [(t, o) for _, t, o in results[1:] if isinstance(o, dict) or o == "conflict"]
    if isinstance(ours, dict):
        for label, _, theirs in results[1:]:
            if isinstance(theirs, dict):
                same = sum(1 for n in ours if ours[n] == theirs.get(n))
                print(f"   {label}: same versions as versions.resolver for {same} of {len(ours)}")
    if finished:
        best = min(t for t, _ in finished)
        print(f"   ratio best resolvelib / versions.resolver: {best / ours_time:.1f}x")
    else:
        print(f"   ratio resolvelib / versions.resolver: > {timeout / ours_time:.1f}x "
              "(no resolvelib variant finished)")
    if target is not None:
        verdict = "met" if ours_time < target else "MISSED"
        print(f"   target < {target:g} s: {verdict}")
        ok = ok and ours_time < target
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=2000)
    parser.add_argument("--versions", type=int, default=20)
    parser.add_argument("--direct", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--lag", type=float, default=0.001)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()

    start = time.perf_counter()
    base = make_synthetic_registry(args.packages, args.versions, args.seed, lag=0.0)
    lagged = make_synthetic_registry(args.packages, args.versions, args.seed, lag=args.lag)
    root = make_root(base, args.direct, args.seed)
    unsat, unsat_root = make_unsatisfiable_registry()
    print(f"graphs generated in {time.perf_counter() - start:.1f} s (seed {args.seed})")

    ok = scenario("1. issue graph (newest versions compatible)", base, root, args.timeout,
                  2.0, True)
    ok = scenario(f"2. with conflicts (lag {args.lag}: old-major dependencies)", lagged, root,
                  args.timeout, None, True) and ok
    ok = scenario("3. crafted unsatisfiable graph (conflict found late)", unsat, unsat_root,
                  args.timeout, 5.0, False) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
