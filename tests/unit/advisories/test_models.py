from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from advisories.errors import InvalidAdvisory
from advisories.models import Advisory, Event, format_timestamp, parse_timestamp

from .conftest import corpus_files, load_json


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.stem)
def test_every_real_record_round_trips_exactly(path):
    raw = load_json(path)
    record = Advisory.from_json(raw)
    assert record.to_json() == raw
    assert Advisory.from_json(record.to_json()) == record


def test_unknown_nested_fields_are_kept(minimal: dict[str, Any]):
    minimal["affected"][0]["package"]["x_note"] = {"kept": True}
    minimal["affected"][0]["ranges"][0]["events"][0]["x_hint"] = "also kept"
    record = Advisory.from_json(minimal)
    assert record.to_json() == minimal


def test_unknown_top_level_field_is_refused(minimal: dict[str, Any]):
    minimal["severity_label"] = "high"
    with pytest.raises(InvalidAdvisory) as err:
        Advisory.from_json(minimal)
    assert err.value.code == "invalid_advisory"
    assert any("severity_label" in reason for reason in err.value.reasons)


def test_types_are_strict(minimal: dict[str, Any]):
    minimal["affected"][0]["versions"] = ["1.0", 2]
    with pytest.raises(InvalidAdvisory) as err:
        Advisory.from_json(minimal)
    assert err.value.reasons[0].startswith("affected/0/versions/1:")


def test_timestamp_must_be_anchored_even_where_the_schema_pattern_is_not(minimal):
    # The schema's timestamp pattern has no ^...$: it lets this through; the model does not.
    minimal["modified"] = "on 2026-01-02T03:04:05Z or so"
    with pytest.raises(InvalidAdvisory) as err:
        Advisory.from_json(minimal)
    assert err.value.reasons[0].startswith("modified:")


def test_event_needs_exactly_one_key():
    with pytest.raises(ValueError, match="exactly one"):
        Event.model_validate({"introduced": "0", "fixed": "1"})
    with pytest.raises(ValueError, match="exactly one"):
        Event.model_validate({})
    assert Event.model_validate({"last_affected": "2"}).kind == "last_affected"


def test_timestamps():
    assert parse_timestamp("2024-06-01T12:00:00.123456789Z") == datetime(
        2024, 6, 1, 12, 0, 0, 123456, tzinfo=UTC
    )
    with pytest.raises(ValueError):
        parse_timestamp("2024-06-01T12:00:00+00:00")
    assert format_timestamp(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05Z"
    with pytest.raises(ValueError):
        format_timestamp(datetime(2026, 1, 2))


def test_withdrawn_and_malicious_flags(minimal):
    assert not Advisory.from_json(minimal).is_withdrawn
    withdrawn = load_json(corpus_files("ghsa-extra")[0])
    assert Advisory.from_json(withdrawn).is_withdrawn
    minimal["database_specific"] = {"malicious": True}
    assert Advisory.from_json(minimal).is_malicious
    minimal["database_specific"] = {}
    minimal["id"] = "MAL-2025-1"
    assert Advisory.from_json(minimal).is_malicious
