"""Version schemes, ranges, dependency resolution and the lockfile (a pure library).

    >>> from versions import Range, Version
    >>> Range.parse("^1.2.0").satisfies(Version.parse("1.9.3"))
    True

Errors carry a stable ``code``: ``InvalidVersion`` ("invalid_version"), ``InvalidRange``
("invalid_range").
"""

from versions.errors import InvalidRange, InvalidVersion, VersionsError
from versions.npm_range import Range
from versions.semver import Version

__all__ = ["InvalidRange", "InvalidVersion", "Range", "Version", "VersionsError"]
