"""Package-name rules: npm-style, lowercase, length-limited, no path tricks.

    name = parse_package_name("@acme/widgets")   # PackageName(scope="acme", base="widgets")

Raises ``InvalidName`` with a reason. Names are compared exactly (they are already lowercase).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.core.errors import InvalidName

MAX_NAME_LENGTH = 214  # npm's limit, scope included
_PART = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_RESERVED = {"node_modules", "favicon.ico", "api", "-", "_", "."}


@dataclass(frozen=True)
class PackageName:
    scope: str | None
    base: str

    @property
    def full(self) -> str:
        return f"@{self.scope}/{self.base}" if self.scope else self.base

    def __str__(self) -> str:
        return self.full


def parse_package_name(text: str) -> PackageName:
    """Validate ``text`` as ``name`` or ``@scope/name``; raises ``InvalidName``."""
    if not text or len(text) > MAX_NAME_LENGTH:
        raise InvalidName(f"package names are 1 to {MAX_NAME_LENGTH} characters", name=text[:64])
    if text != text.lower():
        raise InvalidName("package names are lowercase", name=text)
    scope: str | None = None
    base = text
    if text.startswith("@"):
        scope, sep, base = text[1:].partition("/")
        if not sep or not scope:
            raise InvalidName("a scoped name is @scope/name", name=text)
        _check_part(scope, text, "scope")
    _check_part(base, text, "name")
    if base in _RESERVED:
        raise InvalidName(f"{base!r} is a reserved name", name=text)
    return PackageName(scope=scope, base=base)


def _check_part(part: str, whole: str, what: str) -> None:
    if ".." in part or "/" in part or "\\" in part:
        raise InvalidName(f"the {what} contains a path separator or '..'", name=whole)
    if not _PART.match(part):
        raise InvalidName(
            f"the {what} may contain only a-z, 0-9, '.', '_' and '-', and must start with a "
            "letter or digit",
            name=whole,
        )
