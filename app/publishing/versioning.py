"""The registry's view of version schemes (SemVer for ``generic``), over the ``versions`` library.

Raises ``InvalidVersionError`` / ``InvalidMetadata`` (domain errors) instead of library errors.
"""

from __future__ import annotations

from app.core.errors import InvalidVersionError
from versions import InvalidRange, InvalidVersion, Range, Version


def parse_version(text: str) -> Version:
    """Strict SemVer 2.0.0; raises ``InvalidVersionError``."""
    if len(text) > 256:
        raise InvalidVersionError("versions are at most 256 characters", version=text[:64])
    try:
        return Version.parse(text)
    except InvalidVersion as err:
        raise InvalidVersionError(f"{text!r} is not a SemVer 2.0.0 version: {err}",
                                  version=text) from err


def parse_range(text: str) -> Range | None:
    """An npm range, or None when it does not parse (the caller reports it)."""
    try:
        return Range.parse(text)
    except InvalidRange:
        return None
