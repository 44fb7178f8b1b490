"""Version schemes, ranges, dependency resolution and the lockfile (a pure library).

    >>> from versions import Range, Version
    >>> Range.parse("^1.2.0").satisfies(Version.parse("1.9.3"))
    True
"""

from versions.npm_range import InvalidRange, Range
from versions.semver import InvalidVersion, Version

__all__ = ["InvalidRange", "InvalidVersion", "Range", "Version"]
