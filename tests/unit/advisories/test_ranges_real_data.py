"""Range evaluation against the real advisories of tests/data/osv that carry explicit versions.

For every such ``affected`` entry the ranges alone are evaluated (the list removed) on every
listed version and on every event version (the boundaries), and the answer must agree with the
list. Where the real data disagrees, the cause is classified; RANGES_VS_LISTS.md in
tests/data/osv explains each class, and the one-off cases are pinned below with their reason
(the test fails if one disappears, so the documentation cannot go stale).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import pytest
from packaging.version import InvalidVersion, Version

from advisories.models import Advisory, Affected
from advisories.ordering import scheme_for, sort_key
from advisories.ranges import compile_affected

from .conftest import corpus_files, load_json

# One-off disagreements in the real data, with why (see tests/data/osv/RANGES_VS_LISTS.md).
OVERLAP = "two intervals in ONE range that overlap or touch; the event walk cannot express that"
DOCUMENTED: dict[tuple[str, str], str] = {
    ("PYSEC-2021-114", "2.11.6"): OVERLAP + ": [0, 2.11.6) and [2.11, 2.11.7)",
    ("PYSEC-2022-236", "3.1.1"): OVERLAP + ": [0, 3.1.1) and [3.1.1, 3.1.3); tie-break",
    ("PYSEC-2022-236", "3.1.2"): OVERLAP + ": [0, 3.1.1) and [3.1.1, 3.1.3)",
}


@dataclass(frozen=True)
class Case:
    advisory_id: str
    index: int
    entry: Affected

    def __str__(self) -> str:
        return f"{self.advisory_id}[{self.index}]"


def _cases() -> list[Case]:
    cases = []
    for path in corpus_files("pypi", "ghsa-pypi", "npm"):
        record = Advisory.from_json(load_json(path))
        for index, entry in enumerate(record.affected or []):
            if entry.versions and entry.package and entry.package.ecosystem in ("PyPI", "npm"):
                cases.append(Case(record.id, index, entry))
    return cases


CASES = _cases()


def _listed(ecosystem: str, listed: list[str]) -> set[object]:
    """The listed versions as strings and, for PyPI, as parsed PEP 440 versions too."""
    keys: set[object] = set(listed)
    if ecosystem == "PyPI":
        for text in listed:
            with contextlib.suppress(InvalidVersion):
                keys.add(Version(text))
    return keys


def _in_list(keys: set[object], ecosystem: str, probe: str) -> bool:
    if probe in keys:
        return True
    if ecosystem != "PyPI":
        return False
    try:
        return Version(probe) in keys
    except InvalidVersion:
        return False


def _disagreements(case: Case) -> list[tuple[str, bool, str]]:
    """(probe, ranges' answer, class) for every probe where ranges and list disagree."""
    entry, ecosystem = case.entry, case.entry.package.ecosystem  # type: ignore[union-attr]
    listed = _listed(ecosystem, entry.versions or [])
    ranges_only = compile_affected(Affected(package=entry.package, ranges=entry.ranges))
    introduced = set()
    probes = set(entry.versions or [])
    for osv_range in entry.ranges or []:
        if osv_range.type == "GIT":
            continue
        for event in osv_range.events:
            if event.value not in ("0", "*"):
                probes.add(event.value)
            if event.kind == "introduced":
                introduced.add(event.value)
    schemes = {scheme_for(r.type, ecosystem) for r in entry.ranges or [] if r.type != "GIT"}
    found = []
    for probe in sorted(probes):
        in_list = _in_list(listed, ecosystem, probe)
        answer = ranges_only.matches(probe)
        if answer == in_list:
            continue
        if in_list and not schemes:
            kind = "list only, no ranges"
        elif in_list and all(s is not None and sort_key(s, probe) is None for s in schemes):
            kind = "unorderable listed version"
        elif answer and probe in introduced:
            kind = "introduced version not released"
        elif (case.advisory_id, probe) in DOCUMENTED:
            kind = "documented"
        else:
            kind = "UNEXPLAINED"
        found.append((probe, answer, kind))
    return found


def test_corpus_has_the_expected_coverage():
    ecosystems = [c.entry.package.ecosystem for c in CASES]  # type: ignore[union-attr]
    assert ecosystems.count("PyPI") == 301  # 299 pypa records + 2 GHSA PyPI entries with lists
    assert ecosystems.count("npm") >= 7  # 8 records list versions; one is jquery on Maven


@pytest.mark.parametrize("case", CASES, ids=str)
def test_ranges_agree_with_the_explicit_list(case: Case):
    unexplained = [d for d in _disagreements(case) if d[2] == "UNEXPLAINED"]
    assert unexplained == []


@pytest.mark.parametrize("case", CASES, ids=str)
def test_full_evaluation_matches_every_listed_version_and_no_fixed_version(case: Case):
    compiled = compile_affected(case.entry)
    assert all(compiled.matches(v) for v in case.entry.versions or [])
    fixed = [e.value for r in case.entry.ranges or [] if r.type != "GIT" for e in r.events
             if e.kind == "fixed"]  # fmt: skip
    ecosystem = case.entry.package.ecosystem  # type: ignore[union-attr]
    listed = _listed(ecosystem, case.entry.versions or [])
    for version in fixed:
        assert compiled.matches(version) == _in_list(listed, ecosystem, version)


def test_every_documented_disagreement_still_occurs():
    occurring = {
        (case.advisory_id, probe)
        for case in CASES
        for probe, _answer, kind in _disagreements(case)
        if kind == "documented"
    }
    assert occurring == set(DOCUMENTED)


def _all_disagreements() -> list[tuple[str, str, bool, str]]:
    return [(str(case), *d) for case in CASES for d in _disagreements(case)]


def test_disagreement_classes_are_counted_as_documented():
    counts: dict[str, int] = {}
    for case in CASES:
        for _probe, _answer, kind in _disagreements(case):
            counts[kind] = counts.get(kind, 0) + 1
    # Figures quoted in tests/data/osv/RANGES_VS_LISTS.md.
    assert counts == {
        "unorderable listed version": 47,
        "list only, no ranges": 2,
        "introduced version not released": 17,
        "documented": 3,
    }
