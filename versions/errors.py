"""Error classes of the ``versions`` library, each with a stable machine-readable ``code``.

    >>> from versions.errors import InvalidVersion
    >>> try:
    ...     raise InvalidVersion("1.2", "expected MAJOR.MINOR.PATCH")
    ... except ValueError as err:
    ...     (err.code, str(err))
    ('invalid_version', "invalid version '1.2': expected MAJOR.MINOR.PATCH")

The HTTP layer maps ``code`` to a problem+json response; messages are API, so keep them stable.
"""

from __future__ import annotations


class VersionsError(Exception):
    """Root of every error raised by ``versions``."""

    code = "versions_error"


class InvalidVersion(VersionsError, ValueError):
    """A version string does not follow the scheme (SemVer 2.0.0 or PEP 440)."""

    code = "invalid_version"

    def __init__(self, text: str, reason: str = "not a valid version") -> None:
        self.text = text
        self.reason = reason
        super().__init__(f"invalid version {text!r}: {reason}")


class InvalidRange(VersionsError, ValueError):
    """A range / specifier string does not follow the grammar; it never silently matches nothing."""

    code = "invalid_range"

    def __init__(self, text: str, reason: str = "not a valid range") -> None:
        self.text = text
        self.reason = reason
        super().__init__(f"invalid range {text!r}: {reason}")
