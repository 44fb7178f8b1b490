"""A consumer project: ``vouch.toml`` (root requirements) and ``vouch.lock`` beside it.

    project = Project.load(Path.cwd())
    project.dependencies        # {"left-pad": "^1.0.0"}
    project.with_dependencies({"is-odd": "^3.0.0"}).save()    # `vouch install is-odd`

``vouch.toml``::

    [dependencies]
    left-pad = "^1.0.0"
    "@acme/widgets" = "~2.1"

The only table is ``[dependencies]``; any other table or top-level key (a typo'd ``[deps]``)
is a ``UsageError`` (exit 2) naming it, as is a missing or malformed file.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from client.errors import UsageError

MANIFEST = "vouch.toml"
LOCKFILE = "vouch.lock"
TARGET = "vouch_modules"
ALLOWED_KEYS = ("dependencies",)


@dataclass(frozen=True)
class Project:
    root: Path
    dependencies: dict[str, str]

    @property
    def lock_path(self) -> Path:
        return self.root / LOCKFILE

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    @property
    def target(self) -> Path:
        return self.root / TARGET

    @classmethod
    def load(cls, root: Path, *, missing_ok: bool = False) -> Project:
        """Read ``root/vouch.toml``; with ``missing_ok`` a missing file is an empty project."""
        path = root / MANIFEST
        if not path.is_file():
            if missing_ok and not path.exists():
                return cls(root=root, dependencies={})
            raise UsageError(f"no {MANIFEST} in {root}: declare [dependencies] there, or run "
                             "`vouch install NAME` to create it")
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
            raise UsageError(f"cannot read {path}: {err}") from err
        unknown = [key for key in data if key not in ALLOWED_KEYS]
        if unknown:
            kinds = ", ".join(f"[{k}]" if isinstance(data[k], dict) else k for k in unknown)
            raise UsageError(f"{path}: unknown {'table' if len(unknown) == 1 else 'tables'} or "
                             f"key {kinds}; the only table allowed is [dependencies] "
                             "(package name = range string)")
        deps = data.get("dependencies", {})
        if not isinstance(deps, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in deps.items()):
            raise UsageError(f"{path}: [dependencies] maps package names to range strings, "
                             'e.g. left-pad = "^1.0.0"')
        return cls(root=root, dependencies=dict(deps))

    def with_dependencies(self, added: dict[str, str]) -> Project:
        return replace(self, dependencies={**self.dependencies, **added})

    def save(self) -> None:
        """Write ``vouch.toml`` (atomically): one ``[dependencies]`` table, names sorted."""
        lines = ["[dependencies]"]
        lines += [f"{json.dumps(name)} = {json.dumps(spec)}"
                  for name, spec in sorted(self.dependencies.items())]
        tmp = self.manifest_path.with_name(f".{MANIFEST}.tmp")
        tmp.write_text("\n".join(lines) + "\n")
        os.replace(tmp, self.manifest_path)
