"""Upstream registries of the proxy (issue 17): the ``VOUCH_UPSTREAMS`` TOML file, parsed and
checked (a pure library: no I/O but the text it is given, no secrets).

    upstreams = parse_upstreams(Path("upstreams.toml").read_text())
    pypi = upstreams[0]          # Upstream(name="pypi", format="pypi", url=..., ...)

The file holds ``[[upstream]]`` tables::

    [[upstream]]
    name = "pypi"                        # shown in logs, pages and audit events
    format = "pypi"                      # pypi | npm | vouch
    url = "https://pypi.example.org/simple/"
    metadata_ttl = "10m"                 # default 10m
    timeout = "30s"                      # default 30s
    token_env = "PYPI_MIRROR_TOKEN"      # optional: the NAME of an environment variable
    unsigned = "warn"                    # warn (default) | refuse: unsigned upstream versions

Credentials are never in the file: ``token_env`` names the environment variable holding them.
A key that looks like a secret (``token``, ``password``...) is refused, so nobody puts one
there by mistake. Anything else wrong (unknown keys, a bad URL, two upstreams of one name or
of one format, durations) raises ``UpstreamConfigError`` naming the upstream and the key.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from formats.errors import FormatError

FORMATS = ("pypi", "npm", "vouch")
UNSIGNED_POLICIES = ("warn", "refuse")
_KEYS = {"name", "format", "url", "metadata_ttl", "timeout", "token_env", "unsigned"}
_SECRET_KEYS = {"token", "password", "secret", "auth", "authorization", "api_key", "apikey"}
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^(\d+)([smhd]?)$")


class UpstreamConfigError(FormatError):
    """The upstream configuration cannot be used; the message names what and where."""

    code = "invalid_upstream_config"


@dataclass(frozen=True)
class Upstream:
    name: str
    format: str  # pypi | npm | vouch
    url: str  # ends with "/"
    metadata_ttl: float  # seconds
    timeout: float  # seconds
    token_env: str | None = None
    unsigned: str = "warn"  # warn | refuse


def parse_upstreams(text: str) -> tuple[Upstream, ...]:
    """Parse the file's text; raises ``UpstreamConfigError``."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise UpstreamConfigError(f"upstream configuration is not valid TOML: {err}") from err
    extra = set(document) - {"upstream"}
    if extra:
        raise UpstreamConfigError(f"unknown top-level key(s) {sorted(extra)}: only "
                                  "[[upstream]] tables are allowed")
    tables = document.get("upstream", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise UpstreamConfigError("'upstream' must be an array of tables ([[upstream]])")
    upstreams = tuple(_upstream(i, table) for i, table in enumerate(tables))
    seen_names: set[str] = set()
    seen_formats: set[str] = set()
    for upstream in upstreams:
        if upstream.name in seen_names:
            raise UpstreamConfigError(f"two upstreams are named {upstream.name!r}")
        if upstream.format in seen_formats:
            raise UpstreamConfigError(f"two upstreams of format {upstream.format!r}: one per "
                                      f"format (upstream {upstream.name!r})")
        seen_names.add(upstream.name)
        seen_formats.add(upstream.format)
    return upstreams


def parse_duration(value: object, where: str) -> float:
    """``90``, ``"90s"``, ``"10m"``, ``"2h"``, ``"1d"`` as seconds (more than 0, at most 7
    days); raises ``UpstreamConfigError`` naming ``where``."""
    if isinstance(value, bool):
        raise UpstreamConfigError(f"{where} must be a duration such as 30s or 10m")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value.strip().lower())):
        seconds = float(int(match.group(1)) * _UNITS[match.group(2) or "s"])
    else:
        raise UpstreamConfigError(f"{where} must be a duration such as 30s or 10m, "
                                  f"not {value!r}")
    if not 0 < seconds <= 7 * 86400:
        raise UpstreamConfigError(f"{where} must be more than 0 and at most 7d")
    return seconds


def _upstream(index: int, table: dict[str, Any]) -> Upstream:
    label = f"upstream #{index + 1}"
    name = table.get("name")
    if isinstance(name, str) and _NAME.match(name):
        label = f"upstream {name!r}"
    else:
        raise UpstreamConfigError(f"{label}: 'name' must be 1-64 lowercase letters, digits, "
                                  "'.', '_' or '-'")
    secrets = {k for k in table if k.lower() in _SECRET_KEYS}
    if secrets:
        raise UpstreamConfigError(f"{label}: {sorted(secrets)} would put a secret in the file; "
                                  "name an environment variable with token_env instead")
    unknown = set(table) - _KEYS
    if unknown:
        raise UpstreamConfigError(f"{label}: unknown key(s) {sorted(unknown)} "
                                  f"(allowed: {sorted(_KEYS)})")
    fmt = table.get("format")
    if fmt not in FORMATS:
        raise UpstreamConfigError(f"{label}: 'format' must be one of {list(FORMATS)}")
    url = table.get("url")
    if not isinstance(url, str):
        raise UpstreamConfigError(f"{label}: 'url' is required")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query \
            or parts.fragment or parts.username or parts.password:
        raise UpstreamConfigError(f"{label}: 'url' must be an http(s) URL without credentials, "
                                  "query or fragment")
    token_env = table.get("token_env")
    if token_env is not None and not (isinstance(token_env, str) and _ENV.match(token_env)):
        raise UpstreamConfigError(f"{label}: 'token_env' must be the name of an environment "
                                  "variable")
    unsigned = table.get("unsigned", "warn")
    if unsigned not in UNSIGNED_POLICIES:
        raise UpstreamConfigError(f"{label}: 'unsigned' must be one of {list(UNSIGNED_POLICIES)}")
    return Upstream(
        name=name, format=fmt, url=url if url.endswith("/") else url + "/",
        metadata_ttl=parse_duration(table.get("metadata_ttl", "10m"), f"{label}: metadata_ttl"),
        timeout=parse_duration(table.get("timeout", "30s"), f"{label}: timeout"),
        token_env=token_env, unsigned=unsigned)
