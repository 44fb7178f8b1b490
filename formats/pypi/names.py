"""Python project names (PEP 503 normalisation, PEP 508 validity) and PEP 440 versions.

    >>> normalize("Foo.Bar__baz")
    'foo-bar-baz'
    >>> canonical_version("1.0.0")
    '1.0.0'
    >>> canonical_version("01.0-RC1")
    '1.0rc1'

Raises ``InvalidProjectName`` / ``InvalidVersion``.
"""

from __future__ import annotations

import re

from formats.errors import InvalidProjectName, InvalidVersion
from versions import pep440
from versions.errors import InvalidVersion as _LibraryInvalidVersion

MAX_NAME_LENGTH = 214
_VALID = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)
_SEPARATORS = re.compile(r"[-_.]+")


def normalize(name: str) -> str:
    """PEP 503: runs of ``-``, ``_`` and ``.`` become one ``-``, lower case. Raises
    ``InvalidProjectName`` for a name that is not a valid PEP 508 name (or too long)."""
    if not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidProjectName(f"project names are 1 to {MAX_NAME_LENGTH} characters")
    if not _VALID.match(name):
        raise InvalidProjectName(
            f"{name[:64]!r} is not a valid project name: ASCII letters, digits, '.', '_' and "
            "'-', starting and ending with a letter or digit")
    return _SEPARATORS.sub("-", name).lower()


def is_normalized(name: str) -> bool:
    try:
        return normalize(name) == name
    except InvalidProjectName:
        return False


def canonical_version(text: str) -> str:
    """The PEP 440 normal form (``1.0.0-RC1`` -> ``1.0.0rc1``); trailing zeros are kept, as
    PyPI keeps them in release names. Raises ``InvalidVersion``."""
    try:
        return str(pep440.parse_version(text.strip()))
    except _LibraryInvalidVersion as err:
        raise InvalidVersion(f"{text[:64]!r} is not a valid PEP 440 version") from err


def version_sort_key(text: str) -> str:
    try:
        return pep440.sort_key(pep440.parse_version(text))
    except _LibraryInvalidVersion as err:
        raise InvalidVersion(f"{text[:64]!r} is not a valid PEP 440 version") from err


class PyPIFormat:
    """The ``pypi`` ecosystem's ``formats.base.Format``."""

    ecosystem = "pypi"

    def normalize_name(self, name: str) -> str:
        return normalize(name)

    def canonical_version(self, text: str) -> str:
        return canonical_version(text)

    def version_sort_key(self, text: str) -> str:
        return version_sort_key(text)


PYPI = PyPIFormat()
