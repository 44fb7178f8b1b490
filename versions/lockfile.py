"""The ``vouch.lock`` format: exact versions, download URLs, integrity and dependency edges.

    >>> lock = Lockfile(requirements={"a": "^1.0.0"}, packages=[LockedPackage(
    ...     name="a", version="1.2.0", url="http://r/api/v1/packages/a/versions/1.2.0/artifact",
    ...     sha256="0" * 64, sha512="1" * 128)])
    >>> Lockfile.loads(lock.dumps()) == lock
    True

TOML, deterministic and diff-friendly: a ``[requirements]`` table, then one ``[[package]]``
table per package, sorted by name, keys in a fixed order. ``loads`` validates every field and
raises ``InvalidLockfile`` (code ``invalid_lockfile``) naming the first problem.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import tomli_w

from versions.errors import VersionsError
from versions.semver import Version

FORMAT_VERSION = 1
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX128 = re.compile(r"^[0-9a-f]{128}$")


class InvalidLockfile(VersionsError, ValueError):
    """The lockfile is not valid TOML or a field is missing or malformed."""

    code = "invalid_lockfile"


@dataclass(frozen=True)
class LockedPackage:
    name: str
    version: str
    url: str
    sha256: str
    sha512: str
    dependencies: Mapping[str, str] = field(default_factory=dict)

    def to_toml(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "url": self.url,
                "sha256": self.sha256, "sha512": self.sha512,
                "dependencies": dict(sorted(self.dependencies.items()))}


@dataclass(frozen=True)
class Lockfile:
    requirements: Mapping[str, str]
    packages: list[LockedPackage]

    def dumps(self) -> str:
        data = {
            "version": FORMAT_VERSION,
            "requirements": dict(sorted(self.requirements.items())),
            "package": [p.to_toml() for p in sorted(self.packages, key=lambda p: p.name)],
        }
        header = "# vouch.lock: written by `vouch lock`; do not edit by hand.\n"
        return header + tomli_w.dumps(data)

    @classmethod
    def loads(cls, text: str) -> Lockfile:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise InvalidLockfile(f"not valid TOML: {err}") from err
        if data.get("version") != FORMAT_VERSION:
            raise InvalidLockfile(f"unsupported lockfile version {data.get('version')!r}")
        requirements = data.get("requirements", {})
        if not _str_map(requirements):
            raise InvalidLockfile("[requirements] maps names to range strings")
        packages = [_package(i, raw) for i, raw in enumerate(data.get("package", []))]
        names = [p.name for p in packages]
        if len(set(names)) != len(names):
            raise InvalidLockfile("a package is locked twice")
        return cls(requirements=dict(requirements), packages=packages)


def _str_map(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items())


def _package(index: int, raw: object) -> LockedPackage:
    where = f"package #{index + 1}"
    if not isinstance(raw, dict):
        raise InvalidLockfile(f"{where} is not a table")
    for key in ("name", "version", "url", "sha256", "sha512"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise InvalidLockfile(f"{where}: {key} is missing")
    where = f"{raw['name']}@{raw['version']}"
    try:
        Version.parse(raw["version"])
    except ValueError as err:
        raise InvalidLockfile(f"{where}: {err}") from err
    if not _HEX64.match(raw["sha256"]):
        raise InvalidLockfile(f"{where}: sha256 must be 64 lowercase hex characters")
    if not _HEX128.match(raw["sha512"]):
        raise InvalidLockfile(f"{where}: sha512 must be 128 lowercase hex characters")
    if not raw["url"].startswith(("http://", "https://")):
        raise InvalidLockfile(f"{where}: url must be http(s)")
    deps = raw.get("dependencies", {})
    if not _str_map(deps):
        raise InvalidLockfile(f"{where}: dependencies map names to ranges")
    return LockedPackage(name=raw["name"], version=raw["version"], url=raw["url"],
                         sha256=raw["sha256"], sha512=raw["sha512"], dependencies=dict(deps))
