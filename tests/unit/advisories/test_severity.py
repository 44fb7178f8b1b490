from __future__ import annotations

import pytest

from advisories.errors import InvalidSeverity
from advisories.models import Advisory
from advisories.severity import assess, at_least, level_for_label, level_for_score, score_vector

from .conftest import DATA, corpus_files, load_json

V31_CRITICAL = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"
V30_LOW = "CVSS:3.0/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N"
V40_CRITICAL = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"
V40_MODERATE = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N"


@pytest.mark.parametrize(
    ("vector", "version", "score", "level"),
    [
        (V31_CRITICAL, "3.1", 9.8, "critical"),
        (V30_LOW, "3.0", 3.1, "low"),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N", "3.1", 5.3, "moderate"),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", "3.1", 7.5, "high"),
        (V40_CRITICAL, "4.0", 9.3, "critical"),
        ("AV:N/AC:L/Au:N/C:P/I:P/A:P", "2.0", 7.5, "high"),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", "3.1", 0.0, None),
    ],
)
def test_score_vector(vector, version, score, level):
    scored = score_vector(vector)
    assert (scored.cvss_version, scored.base_score, scored.level) == (version, score, level)


def test_github_thresholds():
    assert [level_for_score(s) for s in (0.0, 0.1, 3.9, 4.0, 6.9, 7.0, 8.9, 9.0, 10.0)] == [
        None, "low", "low", "moderate", "moderate", "high", "high", "critical", "critical",
    ]  # fmt: skip
    with pytest.raises(ValueError):
        level_for_score(10.1)


def test_labels():
    assert level_for_label("MODERATE") == "moderate"
    assert level_for_label("Medium") == "moderate"
    assert level_for_label("none") is None
    assert at_least("high", "moderate") and not at_least("low", "moderate")
    assert not at_least(None, "low")


@pytest.mark.parametrize(
    "vector", ["CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/", "CVSS:9.9/x", "junk"]
)
def test_malformed_vectors_raise(vector):
    with pytest.raises(InvalidSeverity) as err:
        score_vector(vector)
    assert err.value.code == "invalid_severity"


def _record(minimal, **fields):
    return Advisory.from_json({**minimal, **fields})


def test_assess_prefers_newest_cvss_then_labels(minimal):
    both = [{"type": "CVSS_V3", "score": V30_LOW}, {"type": "CVSS_V4", "score": V40_MODERATE}]
    result = assess(_record(minimal, severity=both))
    assert (result.source, result.level) == ("CVSS_V4", "moderate")
    ghsa = _record(minimal, database_specific={"severity": "HIGH"})
    assert assess(ghsa).level == "high" and assess(ghsa).source == "database_specific"
    assert assess(_record(minimal)) is None


def test_assess_uses_per_package_severity(minimal):
    minimal["affected"][0]["severity"] = [{"type": "CVSS_V3", "score": V31_CRITICAL}]
    assert assess(Advisory.from_json(minimal)).level == "critical"


def test_assess_skips_an_unscorable_vector_and_falls_back(minimal):
    # The real npm record with a trailing "/" fails the schema; built directly, it falls back
    # to GitHub's label instead of failing.
    raw = load_json(DATA / "invalid" / "npm" / "GHSA-2p62-c4rm-mr72.json")
    record = Advisory.model_validate(raw)
    result = assess(record)
    assert result.source == "database_specific"
    assert result.level == raw["database_specific"]["severity"].lower()


def test_every_real_record_with_a_vector_scores():
    scored = 0
    for path in corpus_files():
        record = Advisory.from_json(load_json(path))
        for entry in record.severity or []:
            if entry.type.startswith("CVSS"):
                assert score_vector(entry.score).base_score >= 0
                scored += 1
    assert scored > 100
