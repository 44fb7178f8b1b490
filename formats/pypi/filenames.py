"""Wheel and sdist filenames (PEP 427/491 and PEP 625).

    >>> dist = parse_filename("Foo_Bar-1.0-py3-none-any.whl")
    >>> (dist.kind, dist.name, dist.version, dist.python_tag)
    ('bdist_wheel', 'foo-bar', '1.0', 'py3')
    >>> parse_filename("foo_bar-1.0.tar.gz").kind
    'sdist'

Raises ``InvalidFilename`` for anything else: other extensions (``.zip`` sdists, eggs, ``.exe``),
path separators, control characters, names or versions the format refuses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)

from formats.errors import InvalidFilename, InvalidProjectName, InvalidVersion
from formats.pypi.names import canonical_version, normalize

MAX_FILENAME_LENGTH = 255
_SAFE = re.compile(r"^[A-Za-z0-9._+!-]+$")

WHEEL = "bdist_wheel"
SDIST = "sdist"


@dataclass(frozen=True)
class DistFilename:
    filename: str
    kind: str  # bdist_wheel | sdist
    name: str  # PEP 503-normalised
    version: str  # PEP 440 canonical
    python_tag: str  # the wheel's python tag(s) joined by '.', or 'source' for an sdist


def parse_filename(filename: str) -> DistFilename:
    """Parse a distribution filename; raises ``InvalidFilename`` naming what is wrong."""
    if not filename or len(filename) > MAX_FILENAME_LENGTH or not _SAFE.match(filename):
        raise InvalidFilename(f"{filename[:80]!r} is not a valid distribution filename")
    try:
        if filename.endswith(".whl"):
            name, version, _, tags = parse_wheel_filename(filename)
            python = ".".join(sorted({t.interpreter for t in tags}))
            return DistFilename(filename, WHEEL, normalize(name), canonical_version(str(version)),
                                python)
        if filename.endswith(".tar.gz"):
            name, version = parse_sdist_filename(filename)
            return DistFilename(filename, SDIST, normalize(name), canonical_version(str(version)),
                                "source")
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidProjectName,
            InvalidVersion) as err:
        raise InvalidFilename(f"Invalid distribution file name {filename!r}: {err}") from err
    raise InvalidFilename(f"Invalid file extension of {filename!r}: use a wheel (.whl) or an "
                          "sdist (.tar.gz)")
