"""Human durations such as ``24h``, ``90s``, ``15m`` or ``7d``.

    >>> parse_duration("24h")
    datetime.timedelta(days=1)

A bare number is seconds. Anything else, or more than a century, raises ``ValueError``
naming the bad text.
"""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+)([smhdw])")
MAX_SECONDS = 36500 * 86400  # a century


def parse_duration(text: str | int | float | timedelta) -> timedelta:
    """Parse ``text`` into a positive ``timedelta``; raises ``ValueError`` on bad input."""
    if isinstance(text, timedelta):
        return text
    if isinstance(text, int | float):
        return _bounded(float(text), text)
    cleaned = text.strip().lower().replace(" ", "")
    if cleaned.isdigit():
        return _bounded(int(cleaned), text)
    total = 0
    position = 0
    for match in _PART.finditer(cleaned):
        if match.start() != position:
            break
        total += int(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if not cleaned or position != len(cleaned):
        raise ValueError(f"not a duration: {text!r} (use forms like 90s, 15m, 24h, 7d)")
    return _bounded(total, text)


def _bounded(seconds: float, text: object) -> timedelta:
    # Issue 9: "99999999999d" overflowed timedelta, and "99999999d" overflowed the expiry date
    # computed from it (500s); nothing in Vouch lasts longer than a century.
    if seconds > MAX_SECONDS:
        raise ValueError(f"duration too long: {text!r} (at most 36500d)")
    return timedelta(seconds=seconds)
