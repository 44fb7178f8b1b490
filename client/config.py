"""Where the client finds its registry and token, and how much `vouch install` may unpack.

Order: ``VOUCH_REGISTRY`` / ``VOUCH_TOKEN`` environment variables, then the config file
(``$VOUCH_CONFIG`` or ``<user config dir>/vouch/config.toml`` with ``registry`` and ``token``
keys), then the default ``http://127.0.0.1:8000``. The token is never printed.

The extraction limits per package (see ``client.extract``) come the same way:
``VOUCH_MAX_EXTRACT_BYTES`` / ``VOUCH_MAX_EXTRACT_FILES``, then ``max_extract_bytes`` /
``max_extract_files`` in the file, then 1 GiB and 100,000 members. A value that is not a
positive whole number raises ``UsageError`` naming where it came from.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from client.errors import UsageError

DEFAULT_REGISTRY = "http://127.0.0.1:8000"
DEFAULT_MAX_EXTRACT_BYTES = 1 << 30
DEFAULT_MAX_EXTRACT_FILES = 100_000
# limit name -> (environment variable, config file key); `vouch install` names them in errors
EXTRACT_LIMIT_SETTINGS = {
    "bytes": ("VOUCH_MAX_EXTRACT_BYTES", "max_extract_bytes"),
    "files": ("VOUCH_MAX_EXTRACT_FILES", "max_extract_files"),
}


@dataclass(frozen=True)
class ClientConfig:
    registry: str
    token: str | None
    cache_dir: Path
    max_extract_bytes: int = DEFAULT_MAX_EXTRACT_BYTES
    max_extract_files: int = DEFAULT_MAX_EXTRACT_FILES


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
                        token=str(secret) if secret else None, cache_dir=Path(cache),
                        max_extract_bytes=_limit("bytes", data, path, DEFAULT_MAX_EXTRACT_BYTES),
                        max_extract_files=_limit("files", data, path, DEFAULT_MAX_EXTRACT_FILES))


def _limit(which: str, data: dict[str, object], path: Path, default: int) -> int:
    """A positive whole number from the environment, else the file, else ``default``."""
    variable, key = EXTRACT_LIMIT_SETTINGS[which]
    raw: object = os.environ.get(variable) or None
    where = variable
    if raw is None:
        raw, where = data.get(key), f"{key} in {path}"
    if raw is None:
        return default
    value: int | None = None
    if isinstance(raw, int) and not isinstance(raw, bool):
        value = raw
    elif isinstance(raw, str) and re.fullmatch(r"[0-9]{1,30}", raw.strip()):
        value = int(raw.strip())
    if value is None or value < 1:
        raise UsageError(f"{where} must be a positive whole number (bytes or members), "
                         f"got {raw!r}")
    return value
