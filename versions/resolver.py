"""Dependency resolution: pick one version per package so that every range holds.

    >>> from versions.resolver import Candidate, InMemorySource, resolve
    >>> source = InMemorySource({
    ...     "a": [Candidate("1.0.0"), Candidate("1.1.0"), Candidate("2.0.0")],
    ...     "b": [Candidate("2.1.0", {"a": "^1.0.0"})],
    ... })
    >>> result = resolve({"a": "*", "b": "^2.0.0"}, source)
    >>> {name: str(version) for name, version in result.items()}
    {'a': '1.1.0', 'b': '2.1.0'}

Prefers the highest versions; never picks quarantined, unpublished or yanked versions; picks a
deprecated version, or one the ``avoid`` hook flags (e.g. affected by an advisory), only when
no other version works. The engine is PubGrub (``versions.pubgrub``): learned conflicts and
backjumping, so unsatisfiable graphs fail fast instead of exploring every combination.

Failures, each with a stable ``code``:

- ``UnknownPackage`` ("unknown_package"): a root requirement names a package the source
  does not know.
- ``NoMatchingVersion`` ("no_matching_version"): no usable version satisfies a root requirement.
- ``ResolutionImpossible`` ("resolution_impossible"): the requirements conflict; the message
  names the clashing requirements, the dependency paths they came through, and the derivation.
- ``InvalidRange`` ("invalid_range") for a malformed root requirement. A malformed range inside
  a candidate's dependencies makes only that candidate unusable (and is explained if it matters).

The scheme defaults to SemVer + npm ranges; pass ``scheme=get_scheme("pypi")`` for PEP 440.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from versions.errors import InvalidRange, InvalidVersion, VersionsError
from versions.explain import Explainer
from versions.npm_range import Range
from versions.pubgrub import Catalog, PackageInfo, SolveFailure, Solver
from versions.schemes import NPM, SemverScheme, VersionScheme
from versions.semver import Version

__all__ = [
    "Candidate",
    "InMemorySource",
    "NoMatchingVersion",
    "PackageSource",
    "Resolution",
    "ResolutionError",
    "ResolutionImpossible",
    "UnknownPackage",
    "resolve",
]

_ROOT = "\x00root"  # never a package name


@dataclass(frozen=True, slots=True)
class Candidate:
    """One published version as the resolver sees it.

    ``version`` is a scheme version object or its string form. ``deprecated`` is a message (or
    ``True``); ``unavailable`` marks unpublished or yanked versions; ``quarantined`` marks
    versions the security team pulled. Unavailable and quarantined versions are never chosen.
    """

    version: Any
    dependencies: Mapping[str, str] = field(default_factory=dict)
    deprecated: bool | str = False
    unavailable: bool = False
    quarantined: bool = False


@runtime_checkable
class PackageSource(Protocol):
    """Where candidates come from (preloaded metadata, a registry client, a database).

    ``get_candidates`` returns every version of the package (the resolver filters), or ``None``
    when the package does not exist. A source may also define ``prefetch(names)``; the resolver
    calls it with the names it is about to need, so a networked source can batch requests.
    """

    def get_candidates(self, name: str) -> Sequence[Candidate] | None: ...


class InMemorySource:
    """A ``PackageSource`` over a dict of name -> candidates (tests, benchmarks, caches)."""

    def __init__(self, packages: Mapping[str, Sequence[Candidate]]) -> None:
        self.packages = dict(packages)
        self.requests = 0

    def get_candidates(self, name: str) -> Sequence[Candidate] | None:
        self.requests += 1
        return self.packages.get(name)


class ResolutionError(VersionsError):
    """Root of the resolution failures."""

    code = "resolution_error"


class UnknownPackage(ResolutionError):
    """A root requirement names a package that does not exist."""

    code = "unknown_package"

    def __init__(self, package: str) -> None:
        self.package = package
        super().__init__(f"package {package!r} does not exist")


class NoMatchingVersion(ResolutionError):
    """No usable version of ``package`` satisfies the root requirement ``range_text``."""

    code = "no_matching_version"

    def __init__(self, package: str, range_text: str, available: list[str],
                 unusable: list[str]) -> None:
        self.package = package
        self.range_text = range_text
        self.available = available
        self.unusable = unusable
        detail = f"available: {', '.join(available[-10:])}" if available else "no usable versions"
        if unusable:
            detail += f"; unusable: {'; '.join(unusable)}"
        super().__init__(f"no version of {package} satisfies {range_text or '*'} ({detail})")


class ResolutionImpossible(ResolutionError):
    """No set of versions satisfies every requirement.

    ``summary`` names the clash (or is None), ``derivation`` is the step-by-step proof.
    """

    code = "resolution_impossible"

    def __init__(self, summary: str | None, derivation: list[str]) -> None:
        self.summary = summary
        self.derivation = derivation
        head = summary or "the requirements cannot all be satisfied"
        super().__init__("\n".join([head, *derivation]))


@dataclass(frozen=True)
class Resolution(Mapping[str, Any]):
    """The chosen version of each package (a mapping) and the dependency edges.

    ``dependencies[name]`` is the chosen version's ``{dependency: range}``; ``root`` holds the
    root requirements. ``deprecated`` maps packages whose chosen version is deprecated to the
    message; ``avoided`` lists packages whose chosen version the ``avoid`` hook flagged (chosen
    because nothing else worked).
    """

    versions: dict[str, Any]
    dependencies: dict[str, dict[str, str]]
    root: dict[str, str]
    deprecated: dict[str, str] = field(default_factory=dict)
    avoided: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> Any:
        return self.versions[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.versions)

    def __len__(self) -> int:
        return len(self.versions)


class _Run:
    """State of one ``resolve`` call: the source adapter, caches and the solver."""

    def __init__(self, root: dict[str, str], source: PackageSource,
                 avoid: Callable[[str, Any], bool] | None, scheme: VersionScheme[Any, Any],
                 root_name: str) -> None:
        self.root = root
        self.source = source
        self.avoid = avoid
        self.scheme = scheme
        self.root_name = root_name
        self.ranges: dict[str, Any] = {}
        self.versions: dict[str, Any] = {}  # parsed once: the same strings recur across packages
        self.range_errors: dict[str, str] = {}
        self.candidates: dict[str, list[Candidate]] = {}
        mask_of = self.semver_mask if isinstance(scheme, SemverScheme) else None
        self.catalog = Catalog(self.load, self.satisfies, self.check_range, mask_of)
        prefetch = getattr(source, "prefetch", None)
        self.prefetch: Callable[[Sequence[str]], None] = (
            prefetch if callable(prefetch) else (lambda names: None))

    def parse_version(self, text: str) -> Any:
        parsed = self.versions.get(text)
        if parsed is None:
            parsed = self.versions[text] = self.scheme.parse_version(text)
        return parsed

    def parse_range(self, text: str) -> Any:
        parsed = self.ranges.get(text)
        if parsed is None:
            parsed = self.ranges[text] = self.scheme.parse_range(text)
        return parsed

    def check_range(self, text: str) -> str | None:
        if text not in self.ranges and text not in self.range_errors:
            try:
                self.parse_range(text)
            except InvalidRange as err:
                self.range_errors[text] = err.reason
        return self.range_errors.get(text)

    def satisfies(self, text: str, version: Any) -> bool:
        return bool(self.scheme.satisfies(self.parse_range(text), version))

    def semver_mask(self, text: str, ascending: list[Any]) -> int:
        parsed: Range = self.parse_range(text)
        return parsed.satisfying_mask(ascending)

    def load(self, name: str) -> PackageInfo:
        if name == _ROOT:
            return PackageInfo(_ROOT, [Version(0, 0, 0)], [dict(self.root)], [0], [])
        found = self.source.get_candidates(name)
        if found is None:
            return PackageInfo(name, [], [], [], [], missing=True)
        usable: dict[Any, Candidate] = {}
        excluded: list[tuple[Any, str]] = []
        for candidate in found:
            version = candidate.version
            if isinstance(version, str):
                try:
                    version = self.parse_version(version)
                except InvalidVersion:
                    excluded.append((version, "not a valid version"))
                    continue
            if candidate.quarantined:
                excluded.append((version, "quarantined"))
            elif candidate.unavailable:
                excluded.append((version, "unpublished or yanked"))
            else:
                usable.setdefault(version, candidate)
        versions = sorted(usable)
        chosen = [usable[v] for v in versions]
        self.candidates[name] = chosen
        flags = [(bool(self.avoid and self.avoid(name, v)), bool(c.deprecated))
                 for v, c in zip(versions, chosen, strict=True)]
        # Best first: not flagged by the avoid hook, then not deprecated, then highest.
        preference = sorted(range(len(versions)), key=lambda i: (*flags[i], -i))
        return PackageInfo(name, versions, [dict(c.dependencies) for c in chosen], preference,
                           excluded)

    def excluded_matches(self, name: str, range_text: str) -> list[str]:
        info = self.catalog.get(name)
        if range_text in info.range_errors:
            return []
        matches = []
        for version, why in info.excluded:
            if not isinstance(version, str) and self.satisfies(range_text, version):
                matches.append(f"{name} {version} is {why}")
        return matches

    def check_root(self) -> None:
        for text in self.root.values():
            self.parse_range(text)  # raises InvalidRange
        self.prefetch(sorted(self.root))
        for name, text in sorted(self.root.items()):
            info = self.catalog.get(name)
            if info.missing:
                raise UnknownPackage(name)
            if not self.catalog.range_mask(name, text):
                raise NoMatchingVersion(name, text, [str(v) for v in info.versions],
                                        self.excluded_matches(name, text))

    def run(self) -> Resolution:
        self.check_root()
        solver = Solver(self.catalog, _ROOT, self.prefetch)
        try:
            decisions = solver.solve()
        except SolveFailure as failure:
            explainer = Explainer(self.catalog, _ROOT, self.root_name, self.excluded_matches)
            summary, lines = explainer.explain(failure.incompatibility)
            raise ResolutionImpossible(summary, lines) from None
        self.verify(decisions)
        return self.result(decisions)

    def verify(self, decisions: dict[str, int]) -> None:
        """Check the solution against every edge; a failure here is a bug, never returned."""
        for name, index in decisions.items():
            for dep, text in self.catalog.get(name).dependencies[index].items():
                chosen = decisions.get(dep)
                if chosen is None or not self.catalog.range_mask(dep, text) >> chosen & 1:
                    who = self.root_name if name == _ROOT else name
                    raise AssertionError(f"resolver bug: {who} needs {dep} {text}, "
                                         f"solution has {chosen}")

    def result(self, decisions: dict[str, int]) -> Resolution:
        versions: dict[str, Any] = {}
        edges: dict[str, dict[str, str]] = {}
        deprecated: dict[str, str] = {}
        avoided: list[str] = []
        for name in sorted(decisions):
            if name == _ROOT:
                continue
            index = decisions[name]
            info = self.catalog.get(name)
            candidate = self.candidates[name][index]
            version = info.versions[index]
            versions[name] = version
            edges[name] = dict(sorted(info.dependencies[index].items()))
            if candidate.deprecated:
                message = candidate.deprecated
                deprecated[name] = message if isinstance(message, str) else "deprecated"
            if self.avoid and self.avoid(name, version):
                avoided.append(name)
        return Resolution(versions, edges, dict(sorted(self.root.items())), deprecated, avoided)


def resolve(
    root_requirements: Mapping[str, str],
    source: PackageSource,
    *,
    avoid: Callable[[str, Any], bool] | None = None,
    scheme: VersionScheme[Any, Any] = NPM,
    root_name: str = "root",
) -> Resolution:
    """Choose one version per package reachable from ``root_requirements`` ({name: range}).

    ``avoid(name, version)`` returning True makes that version a last resort (used for
    versions affected by advisories). ``root_name`` names the project in error messages.

    Raises ``InvalidRange``, ``UnknownPackage``, ``NoMatchingVersion`` (root requirements) or
    ``ResolutionImpossible`` (conflicts anywhere in the graph), as described in the module doc.
    """
    return _Run(dict(root_requirements), source, avoid, scheme, root_name).run()
