"""Dependency resolution: choices, backtracking, policy flags, and failure explanations."""

import functools
import itertools
import random

import pytest

from versions import InvalidRange, Range, Version, pubgrub
from versions.resolver import (
    Candidate,
    InMemorySource,
    NoMatchingVersion,
    ResolutionImpossible,
    UnknownPackage,
    resolve,
)
from versions.schemes import get_scheme


def chosen(resolution):
    return {name: str(version) for name, version in resolution.items()}


def test_picks_highest_and_records_edges():
    source = InMemorySource({
        "a": [Candidate("1.0.0"), Candidate("1.4.0", {"c": "^1.0.0"}), Candidate("2.0.0")],
        "c": [Candidate("1.0.0"), Candidate("1.9.9"), Candidate("2.0.0-rc.1")],
    })
    result = resolve({"a": "^1.0.0"}, source)
    assert chosen(result) == {"a": "1.4.0", "c": "1.9.9"}  # the pre-release is not picked
    assert result.dependencies == {"a": {"c": "^1.0.0"}, "c": {}}
    assert result.root == {"a": "^1.0.0"}


def test_diamond_intersects_ranges():
    source = InMemorySource({
        "a": [Candidate("1.0.0", {"c": "^1.2.0"})],
        "b": [Candidate("1.0.0", {"c": ">=1.4.0 <1.8.0"})],
        "c": [Candidate(f"1.{m}.0") for m in range(10)] + [Candidate("2.0.0")],
    })
    assert chosen(resolve({"a": "*", "b": "*"}, source)) == {
        "a": "1.0.0", "b": "1.0.0", "c": "1.7.0"}


def test_backtracks_to_an_older_version():
    source = InMemorySource({
        "a": [Candidate("1.0.0", {"c": "^1.0.0"}), Candidate("2.0.0", {"c": "^2.0.0"})],
        "b": [Candidate("1.0.0", {"c": "^1.0.0"})],
        "c": [Candidate("1.0.0"), Candidate("2.0.0")],
    })
    assert chosen(resolve({"a": "*", "b": "*"}, source)) == {
        "a": "1.0.0", "b": "1.0.0", "c": "1.0.0"}


def test_backtracks_through_two_levels():
    # The newest x needs y 2 whose every version needs z 2; the root pins z to 1.
    source = InMemorySource({
        "x": [Candidate("1.0.0", {"y": "^1.0.0"}), Candidate("1.1.0", {"y": "^2.0.0"})],
        "y": [Candidate("1.0.0", {"z": "^1.0.0"}), Candidate("2.0.0", {"z": "^2.0.0"}),
              Candidate("2.1.0", {"z": "^2.0.0"})],
        "z": [Candidate("1.0.0"), Candidate("2.0.0")],
    })
    assert chosen(resolve({"x": "^1.0.0", "z": "1.0.0"}, source)) == {
        "x": "1.0.0", "y": "1.0.0", "z": "1.0.0"}


def test_cycles_resolve():
    source = InMemorySource({
        "a": [Candidate("1.0.0", {"b": "^1.0.0"})],
        "b": [Candidate("1.0.0", {"a": "^1.0.0"})],
    })
    assert chosen(resolve({"a": "*"}, source)) == {"a": "1.0.0", "b": "1.0.0"}


def test_deprecated_only_when_nothing_else_fits():
    source = InMemorySource({
        "a": [Candidate("1.0.0"), Candidate("1.1.0", deprecated="use 1.0.0, 1.1.0 leaks keys")],
    })
    result = resolve({"a": "^1.0.0"}, source)
    assert chosen(result) == {"a": "1.0.0"} and result.deprecated == {}
    forced = resolve({"a": "1.1.0"}, source)
    assert chosen(forced) == {"a": "1.1.0"}
    assert forced.deprecated == {"a": "use 1.0.0, 1.1.0 leaks keys"}


def test_quarantined_and_unpublished_are_never_picked():
    source = InMemorySource({
        "a": [Candidate("1.0.0"), Candidate("1.2.0", quarantined=True),
              Candidate("1.3.0", unavailable=True)],
    })
    assert chosen(resolve({"a": "^1.0.0"}, source)) == {"a": "1.0.0"}
    with pytest.raises(NoMatchingVersion) as caught:
        resolve({"a": "^1.2.0"}, source)
    assert caught.value.code == "no_matching_version"
    assert "a 1.2.0 is quarantined" in str(caught.value)
    assert "a 1.3.0 is unpublished or yanked" in str(caught.value)


def test_transitive_quarantine_is_explained():
    source = InMemorySource({
        "app-lib": [Candidate("1.0.0", {"a": "^1.2.0"})],
        "a": [Candidate("1.0.0"), Candidate("1.2.0", quarantined=True)],
    })
    with pytest.raises(ResolutionImpossible) as caught:
        resolve({"app-lib": "*"}, source, root_name="app")
    text = str(caught.value)
    assert "app-lib 1.0.0 depends on a ^1.2.0, which matches only unusable versions" in text
    assert "a 1.2.0 is quarantined" in text


def test_avoid_hook_is_a_last_resort():
    def vulnerable(name, version):
        return name == "a" and str(version) == "1.1.0"

    source = InMemorySource({"a": [Candidate("1.0.0"), Candidate("1.1.0")]})
    result = resolve({"a": "^1.0.0"}, source, avoid=vulnerable)
    assert chosen(result) == {"a": "1.0.0"} and result.avoided == []
    forced = resolve({"a": "1.1.0"}, source, avoid=vulnerable)
    assert chosen(forced) == {"a": "1.1.0"} and forced.avoided == ["a"]


def test_conflict_explains_requirements_and_paths():
    source = InMemorySource({
        "a": [Candidate("1.0.0"), Candidate("1.5.0"), Candidate("2.0.0"), Candidate("2.3.0")],
        "b": [Candidate("2.1.0", {"a": "^2.0.0"})],
    })
    with pytest.raises(ResolutionImpossible) as caught:
        resolve({"a": "^1.0.0", "b": "^2.0.0"}, source, root_name="app")
    error = caught.value
    assert error.code == "resolution_impossible"
    assert error.summary == (
        "no version of a satisfies both ^1.0.0 (from app) and ^2.0.0 (from app > b 2.1.0)")
    assert error.derivation == [
        "Because b 2.1.0 depends on a ^2.0.0 and app depends on b ^2.0.0, a ^2.0.0 is required.",
        "So, because app depends on a ^1.0.0, version solving failed.",
    ]


def test_conflict_path_goes_through_intermediate_packages():
    source = InMemorySource({
        "a": [Candidate("1.0.0"), Candidate("2.0.0")],
        "b": [Candidate("2.1.0", {"a": "^2.0.0"}), Candidate("2.2.0", {"a": "^2.0.0"})],
        "c": [Candidate("1.0.0", {"b": "^2.0.0"})],
    })
    with pytest.raises(ResolutionImpossible) as caught:
        resolve({"a": "^1.0.0", "c": "^1.0.0"}, source, root_name="app")
    assert caught.value.summary == ("no version of a satisfies both ^1.0.0 (from app) and "
                                    "^2.0.0 (from app > c > every version of b)")
    text = str(caught.value)
    assert "every version of b depends on a ^2.0.0" in text
    assert "c 1.0.0 depends on b ^2.0.0" in text
    assert text.endswith("version solving failed.")


def test_missing_transitive_package_is_explained():
    source = InMemorySource({"a": [Candidate("1.0.0", {"ghost": "^1.0.0"})]})
    with pytest.raises(ResolutionImpossible) as caught:
        resolve({"a": "*"}, source)
    assert "a 1.0.0 depends on ghost ^1.0.0, which does not exist" in str(caught.value)


def test_invalid_range_inside_a_candidate_only_disables_it():
    source = InMemorySource({
        "a": [Candidate("1.0.0"), Candidate("1.1.0", {"b": "blerg"})],
        "b": [Candidate("1.0.0")],
    })
    assert chosen(resolve({"a": "*"}, source)) == {"a": "1.0.0"}


def test_root_errors():
    source = InMemorySource({"a": [Candidate("1.0.0"), Candidate("1.1.0")]})
    with pytest.raises(UnknownPackage) as unknown:
        resolve({"nope": "*"}, source)
    assert unknown.value.code == "unknown_package" and unknown.value.package == "nope"
    with pytest.raises(NoMatchingVersion) as nothing:
        resolve({"a": "^2.0.0"}, source)
    assert nothing.value.available == ["1.0.0", "1.1.0"]
    assert str(nothing.value) == (
        "no version of a satisfies ^2.0.0 (available: 1.0.0, 1.1.0)")
    with pytest.raises(InvalidRange):
        resolve({"a": "^^1"}, source)


def test_unsatisfiable_wide_graph_fails_with_a_short_explanation():
    # A chronological backtracker would try 10**12 combinations of the b packages.
    versions = [f"1.{m}.0" for m in range(10)]
    packages = {
        "core": [Candidate(v) for v in ["1.0.0", "2.0.0"]],
        "a": [Candidate(v, {"core": "^1.0.0"}) for v in versions],
        "z": [Candidate(v, {"core": "^2.0.0"}) for v in versions],
    }
    root = {"a": "*", "z": "*"}
    for i in range(12):
        packages[f"b{i:02d}"] = [Candidate(v) for v in versions]
        root[f"b{i:02d}"] = "*"
    with pytest.raises(ResolutionImpossible) as caught:
        resolve(root, InMemorySource(packages), root_name="app")
    assert caught.value.summary == (
        "no version of core satisfies both ^1.0.0 (from app > every version of a) and "
        "^2.0.0 (from app > every version of z)")
    assert len(caught.value.derivation) <= 3


def test_pep440_scheme():
    pypi = get_scheme("pypi")
    source = InMemorySource({
        "requests": [Candidate("2.31.0", {"urllib3": ">=1.21.1,<3"}), Candidate("3.0.0a1")],
        "urllib3": [Candidate("1.26.18"), Candidate("2.2.1"), Candidate("3.0.0")],
    })
    result = resolve({"requests": ">=2"}, source, scheme=pypi)
    assert chosen(result) == {"requests": "2.31.0", "urllib3": "2.2.1"}


def test_prefetch_is_offered_batches():
    class Batching(InMemorySource):
        def __init__(self, packages):
            super().__init__(packages)
            self.batches = []

        def prefetch(self, names):
            self.batches.append(sorted(names))

    source = Batching({
        "a": [Candidate("1.0.0", {"b": "*", "c": "*"})],
        "b": [Candidate("1.0.0")],
        "c": [Candidate("1.0.0")],
    })
    resolve({"a": "*"}, source)
    assert ["a"] in source.batches and ["b", "c"] in source.batches


# -- exhaustive comparison on small random graphs --------------------------------------------

RANGES = ["^1.0.0", "^2.0.0", "~1.1.0", ">=1.1.0", "1.0.0 - 2.0.0", "<2.0.0", "*", "2.1.0"]
VERSIONS = ["1.0.0", "1.1.0", "2.0.0", "2.1.0"]


@functools.cache
def parse_range(text):
    return Range.parse(text)


def random_graph(rng, size=4):
    names = [f"p{i}" for i in range(size)]
    packages = {}
    for name in names:
        cands = []
        for v in rng.sample(VERSIONS, rng.randint(1, 3)):
            deps = {d: rng.choice(RANGES) for d in rng.sample(names, rng.randint(0, 2))
                    if d != name}
            cands.append(Candidate(v, deps))
        packages[name] = cands
    root = {d: rng.choice(RANGES) for d in rng.sample(names, rng.randint(1, 2))}
    return packages, root


def valid(packages, root, selection):
    def ok(name, range_text):
        v = selection.get(name)
        return v is not None and parse_range(range_text).satisfies(Version.parse(v))

    if not all(ok(n, r) for n, r in root.items()):
        return False
    for name, v in selection.items():
        deps = next(c.dependencies for c in packages[name] if c.version == v)
        if not all(ok(d, r) for d, r in deps.items()):
            return False
    return True


def brute_force(packages, root):
    names = sorted(packages)
    options = [[None] + [c.version for c in packages[n]] for n in names]
    for combo in itertools.product(*options):
        selection = {n: v for n, v in zip(names, combo, strict=True) if v is not None}
        if valid(packages, root, selection):
            return selection
    return None


@pytest.mark.parametrize("chronological", [False, True])
@pytest.mark.parametrize("seed", range(300))
def test_agrees_with_brute_force(seed, chronological, monkeypatch):
    if chronological:  # backtrack chronologically after every conflict (the large-graph mode)
        monkeypatch.setattr(pubgrub, "CHRONOLOGICAL_THRESHOLD", -1)
    packages, root = random_graph(random.Random(seed))
    expected = brute_force(packages, root)
    try:
        result = resolve(root, InMemorySource(packages))
    except (ResolutionImpossible, NoMatchingVersion):
        assert expected is None, f"a solution exists: {expected}"
        return
    assert valid(packages, root, chosen(result)), chosen(result)


@pytest.mark.parametrize("seed", range(60))
def test_agrees_with_brute_force_on_larger_graphs(seed, monkeypatch):
    monkeypatch.setattr(pubgrub, "CHRONOLOGICAL_THRESHOLD", seed % 3 - 1)  # -1, 0 and 1
    packages, root = random_graph(random.Random(1000 + seed), size=6)
    expected = brute_force(packages, root)
    try:
        result = resolve(root, InMemorySource(packages))
    except (ResolutionImpossible, NoMatchingVersion):
        assert expected is None, f"a solution exists: {expected}"
        return
    assert valid(packages, root, chosen(result)), chosen(result)


def medium_graph(rng):
    """25 packages x 6 versions, cycles allowed: too big for brute force, big enough to backjump."""
    names = [f"m{i:02d}" for i in range(25)]
    versions = [f"{1 + j // 3}.{j % 3}.0" for j in range(6)]
    ranges = ["^1.0.0", "^2.0.0", "^1.1.0", "^2.2.0", "~1.2.0", ">=1.1.0", "<2.1.0", "*"]
    packages = {}
    for name in names:
        packages[name] = [
            Candidate(v, {d: rng.choice(ranges) for d in rng.sample(names, rng.randint(0, 4))
                          if d != name})
            for v in versions
        ]
    root = {d: rng.choice(ranges) for d in rng.sample(names, 6)}
    return packages, root


@pytest.mark.parametrize("threshold", [-1, 2, 100])
@pytest.mark.parametrize("seed", range(40))
def test_solutions_on_medium_graphs_are_valid(seed, threshold, monkeypatch):
    # Regression: a version blocked by a dependency incompatibility cached from an earlier
    # visit used to drop its package from the queue, leaving a dependency unselected.
    monkeypatch.setattr(pubgrub, "CHRONOLOGICAL_THRESHOLD", threshold)
    packages, root = medium_graph(random.Random(seed))
    try:
        result = resolve(root, InMemorySource(packages))
    except ResolutionImpossible as err:
        assert err.derivation and err.derivation[-1].endswith("version solving failed.")
        return
    assert valid(packages, root, chosen(result))
