"""The registry's view of version schemes (SemVer for ``generic``), over the ``versions``
library, and the one mapping of that library's errors to domain errors.

    parse_version("1.2.3")          # Version; InvalidVersionError (400 invalid_version)
    parse_range_strict("^1.2.0")    # Range; InvalidRangeError (422 invalid_range)
    parse_range("^1.2.0")           # Range, or None when it does not parse
    raise from_library(err)         # any versions.errors.VersionsError -> DomainError

Nothing else in ``app`` catches a ``versions`` error: callers go through these functions.
"""

from __future__ import annotations

from app.core.errors import DomainError, InvalidVersionError, MalformedInput
from versions import InvalidRange, InvalidVersion, Range, Version
from versions.errors import VersionsError


class InvalidRangeError(DomainError):
    code = "invalid_range"
    status = 422
    title = "Invalid range"


def from_library(err: VersionsError, text: str | None = None) -> DomainError:
    """The domain error for a ``versions`` library error: ``InvalidVersion`` -> 400
    ``invalid_version``, ``InvalidRange`` -> 422 ``invalid_range``, anything else -> 400
    ``malformed_input``; the library's message is the detail. ``text`` is what the caller
    sent (the library may shorten it), named in the problem's ``version`` / ``range``."""
    if isinstance(err, InvalidVersion):
        sent = err.text if text is None else text
        return InvalidVersionError(f"{sent!r} is not a SemVer 2.0.0 version: {err}",
                                   version=sent)
    if isinstance(err, InvalidRange):
        return InvalidRangeError(str(err), range=err.text if text is None else text)
    return MalformedInput(str(err))


def parse_version(text: str) -> Version:
    """Strict SemVer 2.0.0; raises ``InvalidVersionError``."""
    if len(text) > 256:
        raise InvalidVersionError("versions are at most 256 characters", version=text[:64])
    try:
        return Version.parse(text)
    except InvalidVersion as err:
        raise from_library(err, text) from err


def parse_range_strict(text: str) -> Range:
    """An npm range; raises ``InvalidRangeError`` (422)."""
    try:
        return Range.parse(text)
    except InvalidRange as err:
        raise from_library(err, text) from err


def parse_range(text: str) -> Range | None:
    """An npm range, or None when it does not parse (the caller reports it)."""
    try:
        return Range.parse(text)
    except InvalidRange:
        return None
