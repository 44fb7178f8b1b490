from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest

from advisories.errors import InvalidAdvisory
from advisories.schema import SCHEMA_FILE, load_schema, schema_problems, validate_osv

from .conftest import DATA, corpus_files, load_json

REPORT = load_json(DATA / "invalid" / "VALIDATION_REPORT.json")


def test_shipped_schema_is_the_upstream_main_file():
    from importlib import resources

    raw = resources.files("advisories.data").joinpath(SCHEMA_FILE).read_bytes()
    assert hashlib.sha256(raw).hexdigest().startswith("7a511902")
    assert load_schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.stem)
def test_real_records_are_valid(path):
    assert schema_problems(load_json(path)) == []


INVALID_FILES = sorted((DATA / "invalid").glob("*/*.json"))


def test_both_real_invalid_records_are_present():
    assert [p.stem for p in INVALID_FILES] == ["GHSA-2p62-c4rm-mr72", "PYSEC-2017-27"]


@pytest.mark.parametrize("path", INVALID_FILES, ids=lambda p: p.stem)
def test_real_invalid_records_fail_as_the_report_says(path):
    corpus = path.parent.name
    expected = REPORT["corpora"][corpus]["failures"][path.stem]
    problems = schema_problems(load_json(path))
    assert len(problems) == len(expected)
    for got, want in zip(problems, expected, strict=True):
        # Same path and the same head of the message (the report truncates long patterns).
        assert got.split(":", 1)[0] == want.split(":", 1)[0]
        assert got[:120] == want[:120]


def test_invalid_git_event_reason_names_the_actual_cause():
    problems = schema_problems(load_json(DATA / "invalid" / "pypi" / "PYSEC-2017-27.json"))
    assert problems == [
        "affected/0/ranges/0/events/1: {'fixed': 'b27f38a67573f4c989710c9bfb726dd4c1eeb929.patch'}"
        " is not valid under any of the given schemas because"
        " 'b27f38a67573f4c989710c9bfb726dd4c1eeb929.patch' does not match"
        " '^(0|[a-f0-9]{40}|[a-f0-9]{64})$'"
    ]


def _mutations() -> list[tuple[str, Any, str]]:
    """(name, mutation, expected path prefix of the first reason): the research report's
    tested pitfalls (section 1.3)."""

    def setter(*path: Any, value: Any):
        def apply(record: dict[str, Any]) -> None:
            target = record
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value

        return apply

    events = ("affected", 0, "ranges", 0, "events")
    return [
        ("unregistered id prefix", setter("id", value="VOUCH-2026-0001"), "id:"),
        ("extra top-level key", setter("severity_level", value="high"), "<record>:"),
        (
            "fixed with last_affected",
            setter(*events, value=[{"introduced": "0"}, {"fixed": "1"}, {"last_affected": "2"}]),
            "affected/0/ranges/0:",
        ),
        (
            "two keys in one event",
            setter(*events, 0, value={"introduced": "0", "fixed": "1"}),
            "affected/0/ranges/0/events/0:",
        ),
        ("no introduced", setter(*events, value=[{"fixed": "1"}]), "affected/0/ranges/0/events:"),
        ("+00:00 offset", setter("modified", value="2026-01-02T03:04:05+00:00"), "modified:"),
        (
            "CVSS vector without prefix",
            setter(
                "severity",
                value=[{"type": "CVSS_V3", "score": "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
            ),
            "severity/0/score:",
        ),
        (
            "top-level and per-package severity",
            lambda r: (
                r.__setitem__("severity", [{"type": "Ubuntu", "score": "low"}]),
                r["affected"][0].__setitem__("severity", [{"type": "Ubuntu", "score": "low"}]),
            ),
            "affected/0/severity:",
        ),
        (
            "GIT range without repo",
            setter(
                "affected", 0, "ranges", 0, value={"type": "GIT", "events": [{"introduced": "0"}]}
            ),
            "affected/0/ranges/0:",
        ),
        (
            "GIT range with a short sha",
            setter(
                "affected",
                0,
                "ranges",
                0,
                value={"type": "GIT", "repo": "https://x/y", "events": [{"introduced": "abc123"}]},
            ),
            "affected/0/ranges/0/events/0:",
        ),
        (
            "lower-case ecosystem",
            setter("affected", 0, "package", "ecosystem", value="pypi"),
            "affected/0/package/ecosystem:",
        ),
        ("missing modified", lambda r: r.pop("modified"), "<record>:"),
    ]


@pytest.mark.parametrize(
    ("name", "mutate", "where"), _mutations(), ids=lambda x: x if isinstance(x, str) else ""
)
def test_schema_pitfalls_are_invalid_with_a_precise_path(minimal, name, mutate, where):
    record = copy.deepcopy(minimal)
    mutate(record)
    with pytest.raises(InvalidAdvisory) as err:
        validate_osv(record)
    assert err.value.code == "invalid_advisory"
    assert any(reason.startswith(where) for reason in err.value.reasons), err.value.reasons


def test_valid_edge_cases(minimal):
    del minimal["schema_version"]  # JSON Schema does not require it
    assert schema_problems(minimal) == []
    minimal["affected"][0]["package"]["ecosystem"] = "Vouch"  # local extension: generic packages
    assert schema_problems(minimal) == []
    minimal["affected"][0]["package"]["ecosystem"] = "Debian:12"  # suffixes allowed
    assert schema_problems(minimal) == []


def test_not_an_object():
    assert schema_problems([1, 2]) == ["<record>: [1, 2] is not of type 'object'"]
