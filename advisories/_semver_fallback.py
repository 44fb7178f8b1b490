"""Stand-in SemVer 2.0.0 precedence key, used only while ``versions.semver`` is not importable.

Example::

    >>> precedence_key("1.0.0-alpha.1") < precedence_key("1.0.0")
    True

Delete this module once ``versions.semver`` has landed (``advisories.ordering`` prefers it).
Returns None for anything that is not strict SemVer 2.0.0 (semver.org's official regex).
"""

from __future__ import annotations

import re

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


def precedence_key(text: str) -> tuple[object, ...] | None:
    """A tuple ordering versions by SemVer precedence (build metadata ignored)."""
    match = _SEMVER.match(text)
    if match is None:
        return None
    major, minor, patch, pre = match.group(1, 2, 3, 4)
    release = (int(major), int(minor), int(patch))
    if pre is None:
        return (*release, 1, ())
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (*release, 0, ids)
