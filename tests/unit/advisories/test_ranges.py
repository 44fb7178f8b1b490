from __future__ import annotations

from typing import Any

import pytest

from advisories.models import Affected
from advisories.ranges import compile_affected, evaluate, is_affected


def entry(
    *ranges: list[dict[str, str]],
    ecosystem: str = "PyPI",
    range_type: str = "ECOSYSTEM",
    versions: list[str] | None = None,
) -> Affected:
    data: dict[str, Any] = {
        "package": {"ecosystem": ecosystem, "name": "demo"},
        "ranges": [{"type": range_type, "events": events} for events in ranges],
    }
    if versions is not None:
        data["versions"] = versions
    return Affected.model_validate(data)


def affected_set(e: Affected, candidates: list[str], ecosystem: str | None = None) -> list[str]:
    compiled = compile_affected(e, ecosystem)
    return [v for v in candidates if compiled.matches(v)]


def test_introduced_zero_and_fixed():
    e = entry([{"introduced": "0"}, {"fixed": "1.2"}])
    assert affected_set(e, ["0.0.1.dev0", "1.0", "1.2rc1", "1.2", "1.2.post1", "2.0"]) == [
        "0.0.1.dev0",
        "1.0",
        "1.2rc1",
    ]


def test_prerelease_of_the_fix_is_affected():
    # research 1.2: "2.32.0rc1 is affected when fixed: 2.32.0"
    assert is_affected(entry([{"introduced": "0"}, {"fixed": "2.32.0"}]), "2.32.0rc1")


def test_events_are_sorted_before_walking():
    e = entry([{"fixed": "3.0"}, {"introduced": "2.5"}, {"fixed": "2.0"}, {"introduced": "1.0"}])
    assert affected_set(e, ["0.9", "1.0", "1.9", "2.0", "2.4", "2.5", "2.9", "3.0"]) == [
        "1.0",
        "1.9",
        "2.5",
        "2.9",
    ]


def test_last_affected_is_inclusive_and_exact():
    e = entry([{"introduced": "1.0"}, {"last_affected": "1.5"}])
    assert affected_set(e, ["0.9", "1.0", "1.5", "1.5.0", "1.5.post1", "1.6"]) == [
        "1.0",
        "1.5",
        "1.5.0",  # PEP 440: 1.5.0 == 1.5
    ]


class TestTieBreak:
    """OSV.dev: at equal versions, introduced < last_affected < fixed < limit."""

    def test_introduced_and_fixed_at_the_same_version_affect_nothing_there(self):
        e = entry([{"fixed": "1.0"}, {"introduced": "1.0"}])
        assert affected_set(e, ["0.9", "1.0", "1.1"]) == []

    def test_introduced_and_last_affected_at_the_same_version_affect_exactly_it(self):
        e = entry([{"last_affected": "1.0"}, {"introduced": "1.0"}])
        assert affected_set(e, ["0.9", "1.0", "1.0.post1"]) == ["1.0"]

    def test_interval_starting_where_another_ends_loses_its_first_version(self):
        # [0, 3.1.1) and [3.1.1, 3.1.3) in ONE range (real record PYSEC-2022-236): the tie-break
        # puts fixed 3.1.1 after introduced 3.1.1, so the walk stops at "fixed" for 3.1.1 and
        # 3.1.2. OSV.dev answers the same; the explicit versions list is what rescues it.
        e = entry([{"introduced": "0"}, {"fixed": "3.1.1"}, {"introduced": "3.1.1"},
                   {"fixed": "3.1.3"}])  # fmt: skip
        assert affected_set(e, ["3.1.0", "3.1.1", "3.1.2", "3.1.3"]) == ["3.1.0"]
        listed = entry(e.ranges[0].model_dump()["events"], versions=["3.1.1", "3.1.2"])  # type: ignore[index]
        assert affected_set(listed, ["3.1.1", "3.1.2"]) == ["3.1.1", "3.1.2"]

    def test_limit_equal_to_introduced_excludes_everything(self):
        e = entry([{"introduced": "1.0"}, {"limit": "1.0"}])
        assert affected_set(e, ["0.9", "1.0", "1.1"]) == []


def test_limit_bounds_the_range():
    e = entry([{"introduced": "1.0"}, {"limit": "2.0"}])
    assert affected_set(e, ["0.9", "1.0", "1.9", "2.0", "3.0"]) == ["1.0", "1.9"]
    star = entry([{"introduced": "1.0"}, {"limit": "*"}])
    assert affected_set(star, ["0.9", "1.0", "999"]) == ["1.0", "999"]


def test_open_ended_range():
    assert affected_set(entry([{"introduced": "2.0"}]), ["1.9", "2.0", "100.0"]) == ["2.0", "100.0"]


def test_several_ranges_any_matches():
    e = entry(
        [{"introduced": "1.0"}, {"fixed": "1.1"}],
        [{"introduced": "2.0"}, {"fixed": "2.1"}],
    )
    assert affected_set(e, ["1.0.5", "1.5", "2.0.5", "2.1"]) == ["1.0.5", "2.0.5"]


def test_explicit_versions_list_is_checked_first_with_pep440_equality():
    e = entry(versions=["1.0.0", "legacy-1"])
    assert affected_set(e, ["1.0", "1.0.0", "v1.0", "legacy-1", "1.0.1"]) == [
        "1.0",
        "1.0.0",
        "v1.0",  # PEP 440 normalises a leading v
        "legacy-1",
    ]


def test_unparseable_event_skips_only_that_range_and_reports_it():
    e = entry(
        [{"introduced": "0"}, {"fixed": "not a version!"}],
        [{"introduced": "5.0"}, {"fixed": "6.0"}],
    )
    result = evaluate(e, "5.5")
    assert result.affected
    assert [p.range_index for p in result.problems] == [0]
    assert "'not a version!' is not a PEP 440 version" in result.problems[0].reason
    assert not is_affected(e, "1.0")  # the skipped range never matches, and nothing crashes


def test_unparseable_query_version_reports_and_still_uses_the_list():
    e = entry([{"introduced": "0"}], versions=["2004-final"])
    assert evaluate(e, "2004-final").affected
    result = evaluate(e, "2005-final")
    assert not result.affected
    assert "query version" in result.problems[0].reason


def test_git_ranges_are_ignored_quietly_and_the_list_decides():
    data = {
        "package": {"ecosystem": "PyPI", "name": "demo"},
        "ranges": [{"type": "GIT", "repo": "https://x/y", "events": [{"introduced": "0"}]}],
        "versions": ["1.0"],
    }
    e = Affected.model_validate(data)
    assert evaluate(e, "1.0").affected
    assert evaluate(e, "1.1") == evaluate(e, "1.1").__class__(False, ())


def test_ecosystem_without_ordering_reports_and_uses_the_list():
    e = entry([{"introduced": "0"}, {"fixed": "2.0"}], ecosystem="RubyGems", versions=["1.0"])
    assert is_affected(e, "1.0")
    result = evaluate(e, "1.5")
    assert not result.affected
    assert "cannot be ordered" in result.problems[0].reason


@pytest.mark.parametrize("ecosystem", ["pypi", "PyPI", None])
def test_ecosystem_argument_accepts_vouch_and_osv_names(ecosystem):
    e = entry([{"introduced": "0"}, {"fixed": "1.0"}])
    assert is_affected(e, "0.5", ecosystem)
