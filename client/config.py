"""Where the client finds its registry and token.

Order: ``VOUCH_REGISTRY`` / ``VOUCH_TOKEN`` environment variables, then the config file
(``$VOUCH_CONFIG`` or ``<user config dir>/vouch/config.toml`` with ``registry`` and ``token``
keys), then the default ``http://127.0.0.1:8000``. The token is never printed.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from client.errors import UsageError

DEFAULT_REGISTRY = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class ClientConfig:
    registry: str
    token: str | None
    cache_dir: Path


def config_path() -> Path:
    override = os.environ.get("VOUCH_CONFIG")
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir("vouch")) / "config.toml"


def load_config(registry: str | None = None, token: str | None = None) -> ClientConfig:
    """Merge flags, environment and file; raises ``UsageError`` on an unreadable file."""
    data: dict[str, object] = {}
    path = config_path()
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as err:
            raise UsageError(f"cannot read {path}: {err}") from err
    url = registry or os.environ.get("VOUCH_REGISTRY") or str(data.get("registry") or "")
    secret = token or os.environ.get("VOUCH_TOKEN") or data.get("token")
    cache = os.environ.get("VOUCH_CACHE_DIR") or platformdirs.user_cache_dir("vouch")
    return ClientConfig(registry=(url or DEFAULT_REGISTRY).rstrip("/"),
                        token=str(secret) if secret else None, cache_dir=Path(cache))
