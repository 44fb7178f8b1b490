"""What every package format provides to the registry (format-neutral).

    fmt: Format = PYPI
    fmt.normalize_name("Foo_Bar")       # 'foo-bar' (raises InvalidProjectName)
    fmt.canonical_version("1.0.0")      # '1.0.0' (raises InvalidVersion)
    fmt.version_sort_key("1.0")         # a string whose byte order is the version order

The registry stores names and versions in their canonical form, so ``Foo_Bar`` and ``foo-bar``
are one package and ``1.0`` and ``1.0.0`` are one version where the format says so.
"""

from __future__ import annotations

from typing import Protocol


class Format(Protocol):
    """One ecosystem's naming and version rules."""

    #: The registry's ecosystem name (``Package.ecosystem``): ``pypi``, ``npm``, ``generic``.
    ecosystem: str

    def normalize_name(self, name: str) -> str:
        """The canonical (stored, compared) form of ``name``; raises ``InvalidProjectName``."""
        ...

    def canonical_version(self, text: str) -> str:
        """The canonical form of a version; raises ``InvalidVersion``."""
        ...

    def version_sort_key(self, text: str) -> str:
        """A string whose byte-wise order equals the version order; raises ``InvalidVersion``."""
        ...
