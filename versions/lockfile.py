"""The ``vouch.lock`` format: exact versions, download URLs, integrity hashes, dependency edges.

    >>> from versions.lockfile import LockedPackage, Lockfile
    >>> lock = Lockfile(root={"a": "^1.0.0"}, packages=[LockedPackage(
    ...     name="a", version="1.2.0", url="https://registry.example/a/1.2.0",
    ...     sha256="0" * 64, sha512="1" * 128)])
    >>> Lockfile.loads(lock.dumps()) == lock
    True

The file is TOML (written with ``tomli_w``, read with ``tomllib``) and deterministic: the same
lock always serializes to the same bytes, packages sorted by name, one ``[[package]]`` table
per package, dependency tables sorted by key, so a change of one package is a small diff::

    lock-version = 1
    ecosystem = "generic"

    [root]
    a = "^1.0.0"

    [[package]]
    name = "a"
    version = "1.2.0"
    url = "https://registry.example/a/1.2.0"
    sha256 = "…64 hex digits…"
    sha512 = "…128 hex digits…"

    [package.dependencies]
    b = "^2.0.0"

``Lockfile.loads`` validates everything and raises ``InvalidLockfile`` (code
``invalid_lockfile``) naming the field: TOML syntax, a missing or unknown field, a bad version
or range, a digest that is not lowercase hex of the right length, a URL that is not http(s),
duplicate packages, and edges that do not hold (a dependency or root requirement that is not
locked, or whose locked version does not satisfy the range). Constructing ``LockedPackage`` /
``Lockfile`` directly runs the same checks.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import tomli_w

from versions.errors import InvalidRange, InvalidVersion, VersionsError
from versions.schemes import SCHEMES, get_scheme

__all__ = ["LOCK_VERSION", "InvalidLockfile", "LockedPackage", "Lockfile"]

LOCK_VERSION = 1
_HEX = {"sha256": re.compile(r"[0-9a-f]{64}"), "sha512": re.compile(r"[0-9a-f]{128}")}
_PACKAGE_KEYS = {"name", "version", "url", "sha256", "sha512", "dependencies"}
_TOP_KEYS = {"lock-version", "ecosystem", "root", "package"}


class InvalidLockfile(VersionsError, ValueError):
    """The lockfile is malformed or inconsistent; ``where`` names the offending field."""

    code = "invalid_lockfile"

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(f"invalid lockfile at {where}: {reason}")


def _require_str(where: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidLockfile(where, "expected a non-empty string")
    return value


def _require_table(where: str, value: object) -> dict[str, str]:
    if not isinstance(value, dict):
        raise InvalidLockfile(where, "expected a table of name = \"range\"")
    for key, item in value.items():
        if not isinstance(item, str):
            raise InvalidLockfile(f"{where}.{key}", "expected a string range")
    return dict(value)


@dataclass(frozen=True)
class LockedPackage:
    """One locked package. Raises ``InvalidLockfile`` on malformed digests, URL or names."""

    name: str
    version: str
    url: str
    sha256: str
    sha512: str
    dependencies: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        where = f"package {self.name!r}"
        _require_str(f"{where}.name", self.name)
        _require_str(f"{where}.version", self.version)
        url = _require_str(f"{where}.url", self.url)
        if not url.startswith(("https://", "http://")):
            raise InvalidLockfile(f"{where}.url", "expected an http(s) URL")
        for algorithm, pattern in _HEX.items():
            digest = getattr(self, algorithm)
            if not isinstance(digest, str) or not pattern.fullmatch(digest):
                size = 64 if algorithm == "sha256" else 128
                raise InvalidLockfile(f"{where}.{algorithm}",
                                      f"expected {size} lowercase hex digits")
        _require_table(f"{where}.dependencies", self.dependencies)

    def to_toml(self) -> dict[str, Any]:
        table: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "url": self.url,
            "sha256": self.sha256,
            "sha512": self.sha512,
        }
        if self.dependencies:
            table["dependencies"] = dict(sorted(self.dependencies.items()))
        return table


@dataclass(frozen=True)
class Lockfile:
    """Root requirements plus every locked package. Validated on construction."""

    root: dict[str, str]
    packages: list[LockedPackage]
    ecosystem: str = "generic"

    def __post_init__(self) -> None:
        if self.ecosystem not in SCHEMES:
            raise InvalidLockfile("ecosystem", f"unknown ecosystem {self.ecosystem!r}")
        _require_table("root", self.root)
        object.__setattr__(self, "packages", sorted(self.packages, key=lambda p: p.name))
        self._check_consistency()

    def _check_consistency(self) -> None:
        scheme = get_scheme(self.ecosystem)
        versions: dict[str, Any] = {}
        for package in self.packages:
            where = f"package {package.name!r}"
            if package.name in versions:
                raise InvalidLockfile(where, "locked twice")
            try:
                versions[package.name] = scheme.parse_version(package.version)
            except InvalidVersion as err:
                raise InvalidLockfile(f"{where}.version", str(err)) from err

        def check_edge(where: str, name: str, range_text: str) -> None:
            try:
                parsed = scheme.parse_range(range_text)
            except InvalidRange as err:
                raise InvalidLockfile(where, str(err)) from err
            if name not in versions:
                raise InvalidLockfile(where, f"{name} is required but not locked")
            if not scheme.satisfies(parsed, versions[name], include_prerelease=True):
                locked = next(p.version for p in self.packages if p.name == name)
                raise InvalidLockfile(where, f"locked {name} {locked} does not satisfy "
                                             f"{range_text!r}")

        for name, range_text in sorted(self.root.items()):
            check_edge(f"root.{name}", name, range_text)
        for package in self.packages:
            for name, range_text in sorted(package.dependencies.items()):
                check_edge(f"package {package.name!r}.dependencies.{name}", name, range_text)

    def get(self, name: str) -> LockedPackage | None:
        """The locked package called ``name``, or None."""
        return next((p for p in self.packages if p.name == name), None)

    def dumps(self) -> str:
        """Deterministic TOML: sorted packages and keys; the same lock gives the same bytes."""
        document: dict[str, Any] = {
            "lock-version": LOCK_VERSION,
            "ecosystem": self.ecosystem,
            "root": dict(sorted(self.root.items())),
            "package": [p.to_toml() for p in self.packages],
        }
        header = "# vouch.lock: written by `vouch lock`; do not edit by hand.\n"
        return header + tomli_w.dumps(document)

    @classmethod
    def loads(cls, text: str) -> Lockfile:
        """Parse and validate a lockfile; raises ``InvalidLockfile`` naming the field."""
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise InvalidLockfile("(file)", f"not valid TOML: {err}") from err
        unknown = set(document) - _TOP_KEYS
        if unknown:
            raise InvalidLockfile(sorted(unknown)[0], "unknown field")
        if document.get("lock-version") != LOCK_VERSION:
            raise InvalidLockfile("lock-version", f"expected {LOCK_VERSION}")
        ecosystem = _require_str("ecosystem", document.get("ecosystem"))
        root = _require_table("root", document.get("root", {}))
        entries = document.get("package", [])
        if not isinstance(entries, list):
            raise InvalidLockfile("package", "expected an array of [[package]] tables")
        return cls(root, [_load_package(i, e) for i, e in enumerate(entries)], ecosystem)

    @classmethod
    def from_resolution(
        cls,
        root: Mapping[str, str],
        versions: Mapping[str, Any],
        dependencies: Mapping[str, Mapping[str, str]],
        artifact: Callable[[str, str], tuple[str, str, str]],
        ecosystem: str = "generic",
    ) -> Lockfile:
        """Build a lock from a resolution; ``artifact(name, version)`` gives (url, sha256, sha512).

        ``versions`` and ``dependencies`` are ``Resolution.versions`` / ``.dependencies``.
        """
        packages = []
        for name, version in versions.items():
            url, sha256, sha512 = artifact(name, str(version))
            packages.append(LockedPackage(name, str(version), url, sha256, sha512,
                                          dict(dependencies.get(name, {}))))
        return cls(dict(root), packages, ecosystem)


def _load_package(index: int, entry: object) -> LockedPackage:
    where = f"package[{index}]"
    if not isinstance(entry, dict):
        raise InvalidLockfile(where, "expected a table")
    unknown = set(entry) - _PACKAGE_KEYS
    if unknown:
        raise InvalidLockfile(f"{where}.{sorted(unknown)[0]}", "unknown field")
    for key in sorted(_PACKAGE_KEYS - {"dependencies"}):
        if key not in entry:
            raise InvalidLockfile(f"{where}.{key}", "missing")
        _require_str(f"{where}.{key}", entry[key])
    dependencies = _require_table(f"{where}.dependencies", entry.get("dependencies", {}))
    return LockedPackage(entry["name"], entry["version"], entry["url"], entry["sha256"],
                         entry["sha512"], dependencies)
