"""Advisory ids: Vouch's local ``x_VOUCH-YYYY-NNNN`` ids and the OSV id-prefix check.

Example::

    >>> from advisories.ids import format_local_id, next_local_id, parse_local_id
    >>> format_local_id(2026, 1)
    'x_VOUCH-2026-0001'
    >>> next_local_id(["x_VOUCH-2026-0007", "GHSA-xxxx-yyyy-zzzz"], year=2026)
    'x_VOUCH-2026-0008'
    >>> parse_local_id("x_VOUCH-2026-0008").sequence
    8

OSV's schema (main, after PR #499) reserves the ``x_`` prefix for local databases; ``VOUCH`` names
ours. Imported records keep their own ids (``GHSA-...``, ``PYSEC-...``); aliases connect them.
Sequence numbers are zero-padded to four digits and simply grow wider past 9999.
``next_local_id`` is a suggestion: the database's unique constraint decides a race, and the
caller retries with the next number on conflict.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from advisories.errors import InvalidAdvisoryId

LOCAL_PREFIX = "x_VOUCH-"
_LOCAL = re.compile(r"^x_VOUCH-(\d{4})-(\d{4,})$")


@dataclass(frozen=True, order=True)
class LocalId:
    year: int
    sequence: int

    def __str__(self) -> str:
        return format_local_id(self.year, self.sequence)


def format_local_id(year: int, sequence: int) -> str:
    """``x_VOUCH-<year>-<sequence, 4+ digits>``; raises InvalidAdvisoryId on out-of-range
    numbers (year outside 1000-9999, sequence below 1)."""
    if not 1000 <= year <= 9999 or sequence < 1:
        raise InvalidAdvisoryId(f"{year}/{sequence}", "year must be 4 digits, sequence >= 1")
    return f"{LOCAL_PREFIX}{year}-{sequence:04d}"


def parse_local_id(text: str) -> LocalId:
    """Split a local id; raises InvalidAdvisoryId if ``text`` is not ``x_VOUCH-YYYY-NNNN``."""
    match = _LOCAL.match(text)
    if match is None or int(match.group(2)) < 1:
        raise InvalidAdvisoryId(text, "not a local id of the form x_VOUCH-YYYY-NNNN")
    return LocalId(int(match.group(1)), int(match.group(2)))


def is_local_id(text: str) -> bool:
    return _LOCAL.match(text) is not None and int(text.rsplit("-", 1)[1]) >= 1


def next_local_id(existing: Iterable[str], year: int) -> str:
    """The id after the highest local id of ``year`` among ``existing`` (other ids ignored)."""
    highest = 0
    for advisory_id in existing:
        if is_local_id(advisory_id):
            local = parse_local_id(advisory_id)
            if local.year == year:
                highest = max(highest, local.sequence)
    return format_local_id(year, highest + 1)


def check_id(text: str) -> str:
    """Return ``text`` if the OSV schema accepts it as an id, else raise InvalidAdvisoryId.

    Accepts local ``x_`` ids and every registered database prefix (``GHSA-``, ``PYSEC-``, ...).
    """
    if _prefix_pattern().match(text) is None:
        raise InvalidAdvisoryId(text, "the id has no registered OSV database prefix (or x_)")
    return text


@cache
def _prefix_pattern() -> re.Pattern[str]:
    from advisories.schema import load_schema

    pattern: str = load_schema()["$defs"]["prefix"]["pattern"]
    return re.compile(pattern)
