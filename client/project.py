"""A consumer project: ``vouch.toml`` (root requirements) and ``vouch.lock`` beside it.

    project = Project.load(Path.cwd())
    project.dependencies        # {"left-pad": "^1.0.0"}

``vouch.toml``::

    [dependencies]
    left-pad = "^1.0.0"
    "@acme/widgets" = "~2.1"

Raises ``UsageError`` when the file is missing or malformed.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from client.errors import UsageError

MANIFEST = "vouch.toml"
LOCKFILE = "vouch.lock"
TARGET = "vouch_modules"


@dataclass(frozen=True)
class Project:
    root: Path
    dependencies: dict[str, str]

    @property
    def lock_path(self) -> Path:
        return self.root / LOCKFILE

    @property
    def target(self) -> Path:
        return self.root / TARGET

    @classmethod
    def load(cls, root: Path) -> Project:
        path = root / MANIFEST
        if not path.is_file():
            raise UsageError(f"no {MANIFEST} in {root}: declare [dependencies] there")
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise UsageError(f"cannot read {path}: {err}") from err
        deps = data.get("dependencies", {})
        if not isinstance(deps, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in deps.items()):
            raise UsageError(f"{path}: [dependencies] maps package names to range strings")
        return cls(root=root, dependencies=dict(deps))
