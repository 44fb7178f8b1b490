"""Pure state changes of an advisory: draft, edit, publish, withdraw. The app stores the
results, records the audit events and decides who may call what (role ``security``).

Example::

    from datetime import UTC, datetime
    from advisories import lifecycle
    now = datetime.now(UTC)
    draft = lifecycle.new_advisory(
        "x_VOUCH-2026-0001",
        {"summary": "RCE in demo", "affected": [{"package": {"ecosystem": "PyPI", "name": "demo"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2"}]}]}]},
        now=now,
    )
    draft = lifecycle.edit(draft, {"details": "..."}, now=now)
    live = lifecycle.publish(draft, now=now)                     # sets `published`
    gone = lifecycle.withdraw(live, "duplicate of GHSA-...", now=now)

Every function returns a new, schema-valid :class:`Advisory` with ``modified`` set to ``now``
(OSV consumers use ``modified`` to pick the newest copy), or raises: InvalidAdvisory
(``invalid_advisory``) when the result would not be valid OSV, AdvisoryWithdrawn
(``advisory_withdrawn``) on any change to a withdrawn record, AdvisoryAlreadyPublished
(``advisory_already_published``) on a second publish. A draft is simply a record without
``published``; OSV has no draft state, so the app keeps drafts out of the public APIs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from advisories.errors import AdvisoryAlreadyPublished, AdvisoryWithdrawn, InvalidAdvisory
from advisories.ids import check_id
from advisories.models import Advisory, format_timestamp

#: schema_version written on records Vouch creates (x_ ids are accepted from schema main/1.7.5+).
SCHEMA_VERSION = "1.7.5"
#: Fields an edit may not touch: identity and timestamps belong to the lifecycle.
PROTECTED_FIELDS = frozenset({"id", "modified", "published", "withdrawn", "schema_version"})


def new_advisory(advisory_id: str, fields: Mapping[str, Any], *, now: datetime) -> Advisory:
    """A new draft with id ``advisory_id`` and the given OSV ``fields`` (JSON-shaped).

    Raises InvalidAdvisoryId (``invalid_advisory_id``) for an id the schema refuses."""
    check_id(advisory_id)
    _refuse_protected(fields)
    data = {"schema_version": SCHEMA_VERSION, "id": advisory_id, **dict(fields)}
    data["modified"] = format_timestamp(now)
    return Advisory.from_json(data)


def edit(record: Advisory, changes: Mapping[str, Any], *, now: datetime) -> Advisory:
    """Replace top-level fields with ``changes`` (a value of None removes the field)."""
    _refuse_withdrawn(record)
    _refuse_protected(changes)
    data = record.to_json()
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    data["modified"] = format_timestamp(now)
    return Advisory.from_json(data)


def publish(record: Advisory, *, now: datetime) -> Advisory:
    """Mark a draft published at ``now``."""
    _refuse_withdrawn(record)
    if record.published is not None:
        raise AdvisoryAlreadyPublished(record.id)
    stamp = format_timestamp(now)
    return Advisory.from_json({**record.to_json(), "published": stamp, "modified": stamp})


def withdraw(record: Advisory, reason: str, *, now: datetime) -> Advisory:
    """Withdraw with a non-empty ``reason``: it goes into ``database_specific.withdrawn_reason``
    and, as OSV recommends, at the head of ``details``. The record stays retrievable by id but
    never matches a query again."""
    _refuse_withdrawn(record)
    reason = reason.strip()
    if not reason:
        raise InvalidAdvisory(["withdrawn: a reason is required"], record.id)
    stamp = format_timestamp(now)
    data = record.to_json()
    details = data.get("details")
    data["details"] = f"Withdrawn: {reason}" + (f"\n\n{details}" if details else "")
    data["database_specific"] = {
        **(data.get("database_specific") or {}),
        "withdrawn_reason": reason,
    }
    data["withdrawn"] = stamp
    data["modified"] = stamp
    return Advisory.from_json(data)


def _refuse_withdrawn(record: Advisory) -> None:
    if record.is_withdrawn:
        raise AdvisoryWithdrawn(record.id)


def _refuse_protected(fields: Mapping[str, Any]) -> None:
    touched = sorted(PROTECTED_FIELDS.intersection(fields))
    if touched:
        raise InvalidAdvisory([f"{name}: set by the lifecycle, not editable" for name in touched])
