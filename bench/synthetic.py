"""Seeded synthetic dependency graphs for the resolver benchmarks (in process or published).

    >>> from bench.synthetic import make_synthetic_registry, make_root
    >>> registry = make_synthetic_registry(packages=50, versions=5, seed=1)
    >>> sorted(registry)[:2], len(registry["pkg0000"])
    (['pkg0000', 'pkg0001'], 5)
    >>> root = make_root(registry, count=10, seed=1)   # {name: range}

The registry is plain data, ``{package: {version: {dependency: range}}}``, so the same graph
can be fed to ``versions.resolver`` (``to_source``), to resolvelib, or published to a server.

Shape (issue 3): ``packages`` packages x ``versions`` versions, each version with 5-15
caret-range dependencies on packages of a higher index (so the graph is acyclic). Version ``j``
of a package is ``{1 + j // 10}.{j % 10}.{patch}``: two majors of ten minors for 20 versions.
Dependencies follow time: version ``j`` of a package tends to require a recent version of its
dependency (``^`` the dependency's version near index ``j``), and with probability ``lag`` an
old major instead, which is what makes the highest versions conflict and forces backtracking.
"""

from __future__ import annotations

import random

__all__ = [
    "Registry",
    "make_root",
    "make_synthetic_registry",
    "make_unsatisfiable_registry",
    "to_source",
]

Registry = dict[str, dict[str, dict[str, str]]]


def _name(index: int) -> str:
    return f"pkg{index:04d}"


def _versions(rng: random.Random, count: int) -> list[str]:
    return [f"{1 + j // 10}.{j % 10}.{rng.randint(0, 3)}" for j in range(count)]


def make_synthetic_registry(
    packages: int = 2000, versions: int = 20, seed: int = 1, lag: float = 0.03,
    min_deps: int = 5, max_deps: int = 15,
) -> Registry:
    """The benchmark graph; deterministic for a given set of arguments."""
    rng = random.Random(seed)
    all_versions = [_versions(rng, versions) for _ in range(packages)]
    registry: Registry = {}
    for i in range(packages):
        entries: dict[str, dict[str, str]] = {}
        higher = packages - i - 1
        for j, version in enumerate(all_versions[i]):
            count = min(higher, rng.randint(min_deps, max_deps))
            # Mostly near neighbours, sometimes far: keeps the closure of one package bounded.
            targets: set[int] = set()
            while len(targets) < count:
                span = 50 if rng.random() < 0.8 else higher
                targets.add(i + 1 + rng.randrange(min(span, higher)))
            deps: dict[str, str] = {}
            for t in sorted(targets):
                if rng.random() < lag:
                    tj = rng.randrange(min(10, versions))  # an old major
                else:
                    tj = max(0, min(versions - 1, j + rng.randint(-6, 0)))
                major, minor, _ = all_versions[t][tj].split(".")
                deps[_name(t)] = f"^{major}.{minor}.0"
            entries[version] = deps
        registry[_name(i)] = entries
    return registry


def make_root(registry: Registry, count: int = 200, seed: int = 1) -> dict[str, str]:
    """``count`` direct dependencies on packages from the first half, each ``>=1.0.0``."""
    rng = random.Random(seed)
    names = sorted(registry)
    chosen = rng.sample(names[: max(count, len(names) // 2)], count)
    return {name: ">=1.0.0" for name in sorted(chosen)}


def make_unsatisfiable_registry(width: int = 30, versions: int = 20) -> tuple[Registry,
                                                                              dict[str, str]]:
    """A graph with no solution where the conflict is discovered late.

    The root needs ``a``, ``width`` independent packages ``b00``... (each with ``versions``
    versions, so a chronological backtracker has ``versions ** width`` combinations to try),
    and ``z``. Every version of ``a`` needs ``core ^1.<k>.0`` and every version of ``z`` needs
    a version of ``mid`` that needs ``core ~2.<k>.0``: ``a`` and ``z`` can never coexist.
    """
    rng = random.Random(7)
    vs = _versions(rng, versions)
    registry: Registry = {
        "core": {v: {} for v in vs},
        "a": {v: {"core": f"^1.{j % 10}.0"} for j, v in enumerate(vs)},
        "mid": {v: {"core": f"~2.{j % 10}.0"} for j, v in enumerate(vs)},
        "z": {v: {"mid": f"^{v.split('.')[0]}.0.0"} for v in vs},
    }
    root = {"a": "*", "z": "*"}
    for b in range(width):
        name = f"b{b:02d}"
        registry[name] = {v: {"leaf": "*"} for v in vs}
        root[name] = "*"
    registry["leaf"] = {v: {} for v in vs}
    return registry, root


def to_source(registry: Registry) -> object:
    """An ``InMemorySource`` (``versions.resolver``) over the registry."""
    from versions.resolver import Candidate, InMemorySource

    return InMemorySource({
        name: [Candidate(version, deps) for version, deps in entries.items()]
        for name, entries in registry.items()
    })
