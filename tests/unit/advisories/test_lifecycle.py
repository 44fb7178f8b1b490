from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from advisories import lifecycle
from advisories.errors import (
    AdvisoryAlreadyPublished,
    AdvisoryWithdrawn,
    InvalidAdvisory,
    InvalidAdvisoryId,
)
from advisories.matching import AdvisoryIndex

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
AFFECTED = [
    {
        "package": {"ecosystem": "PyPI", "name": "demo"},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2"}]}],
    }
]


def _draft():
    return lifecycle.new_advisory(
        "x_VOUCH-2026-0001", {"summary": "RCE in demo", "affected": AFFECTED}, now=T0
    )


def test_draft_publish_edit_withdraw():
    draft = _draft()
    assert draft.schema_version == "1.7.5" and draft.published is None
    assert draft.modified == "2026-03-01T12:00:00Z"
    live = lifecycle.publish(draft, now=T0 + timedelta(hours=1))
    assert live.published == live.modified == "2026-03-01T13:00:00Z"
    edited = lifecycle.edit(live, {"details": "more", "summary": None}, now=T0 + timedelta(hours=2))
    assert edited.details == "more" and edited.summary is None
    assert edited.published == live.published
    gone = lifecycle.withdraw(edited, "duplicate of GHSA-xxxx", now=T0 + timedelta(hours=3))
    assert gone.is_withdrawn and gone.withdrawn == gone.modified
    assert gone.details.startswith("Withdrawn: duplicate of GHSA-xxxx")
    assert gone.database_specific == {"withdrawn_reason": "duplicate of GHSA-xxxx"}
    index = AdvisoryIndex()
    index.add(gone)
    assert index.query("pypi", "demo", "1.0") == [] and index.get(gone.id) == gone


def test_refusals():
    draft = _draft()
    with pytest.raises(InvalidAdvisoryId):
        lifecycle.new_advisory("VOUCH-1", {"affected": AFFECTED}, now=T0)  # no x_ prefix
    with pytest.raises(InvalidAdvisory):
        lifecycle.edit(draft, {"modified": "2020-01-01T00:00:00Z"}, now=T0)
    with pytest.raises(InvalidAdvisory) as err:
        lifecycle.edit(
            draft, {"affected": [{"package": {"ecosystem": "pypi", "name": "x"}}]}, now=T0
        )
    assert err.value.reasons[0].startswith("affected/0/package/ecosystem:")
    with pytest.raises(InvalidAdvisory):
        lifecycle.withdraw(draft, "  ", now=T0)
    live = lifecycle.publish(draft, now=T0)
    with pytest.raises(AdvisoryAlreadyPublished) as published:
        lifecycle.publish(live, now=T0)
    assert published.value.code == "advisory_already_published"
    gone = lifecycle.withdraw(live, "wrong package", now=T0)
    for change in (
        lambda: lifecycle.edit(gone, {"details": "x"}, now=T0),
        lambda: lifecycle.withdraw(gone, "again", now=T0),
        lambda: lifecycle.publish(gone, now=T0),
    ):
        with pytest.raises(AdvisoryWithdrawn) as withdrawn:
            change()
        assert withdrawn.value.code == "advisory_withdrawn"
