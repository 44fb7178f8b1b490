from __future__ import annotations

import pytest

from advisories.errors import InvalidAdvisoryId
from advisories.ids import (
    LocalId,
    check_id,
    format_local_id,
    is_local_id,
    next_local_id,
    parse_local_id,
)
from advisories.schema import schema_problems


def test_format_and_parse_round_trip():
    assert format_local_id(2026, 1) == "x_VOUCH-2026-0001"
    assert format_local_id(2026, 12345) == "x_VOUCH-2026-12345"
    assert parse_local_id("x_VOUCH-2026-0042") == LocalId(2026, 42)
    assert str(LocalId(2027, 3)) == "x_VOUCH-2027-0003"


@pytest.mark.parametrize(
    "text", ["x_VOUCH-26-0001", "x_VOUCH-2026-1", "x_VOUCH-2026-0000", "VOUCH-2026-0001", ""]
)
def test_parse_refuses_malformed(text):
    with pytest.raises(InvalidAdvisoryId) as err:
        parse_local_id(text)
    assert err.value.code == "invalid_advisory_id"
    assert not is_local_id(text)


def test_format_refuses_out_of_range():
    with pytest.raises(InvalidAdvisoryId):
        format_local_id(2026, 0)
    with pytest.raises(InvalidAdvisoryId):
        format_local_id(26, 1)


def test_next_local_id_counts_per_year_and_ignores_foreign_ids():
    existing = ["x_VOUCH-2026-0007", "x_VOUCH-2025-0099", "GHSA-aaaa-bbbb-cccc", "x_OTHER-1"]
    assert next_local_id(existing, 2026) == "x_VOUCH-2026-0008"
    assert next_local_id(existing, 2027) == "x_VOUCH-2027-0001"
    assert next_local_id([], 2026) == "x_VOUCH-2026-0001"


def test_local_ids_pass_the_osv_schema(minimal):
    minimal["id"] = next_local_id(["x_VOUCH-2026-0009"], 2026)
    assert schema_problems(minimal) == []


def test_check_id_uses_the_schema_prefixes():
    for good in ("x_VOUCH-2026-0001", "GHSA-224h-p7p5-rh85", "PYSEC-2021-114", "MAL-2025-1"):
        assert check_id(good) == good
    for bad in ("VOUCH-2026-0001", "ghsa-224h", "X_VOUCH-1"):
        with pytest.raises(InvalidAdvisoryId):
            check_id(bad)
