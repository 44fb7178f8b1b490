"""The upstream configuration of a registry: ``VOUCH_UPSTREAMS`` (a TOML file, see
``formats.upstreams``) read and checked at start-up.

    upstreams = load_upstreams(settings.upstreams)      # () when unset
    secret = credential(upstream)                       # from the named variable, or None

Raises ``ValueError`` (Settings turns it into a start-up failure) when the file cannot be read
or parsed, or names a ``token_env`` variable that is not set. Secrets are read from the
environment when a request needs them and are never logged or put in an error.
"""

from __future__ import annotations

import os
from pathlib import Path

from formats.upstreams import Upstream, UpstreamConfigError, parse_upstreams


def load_upstreams(path: Path | None) -> tuple[Upstream, ...]:
    if path is None:
        return ()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"VOUCH_UPSTREAMS: cannot read {path}: {err.__class__.__name__}") \
            from None
    try:
        upstreams = parse_upstreams(text)
    except UpstreamConfigError as err:
        raise ValueError(f"VOUCH_UPSTREAMS ({path}): {err.detail}") from None
    for upstream in upstreams:
        if upstream.token_env and upstream.token_env not in os.environ:
            raise ValueError(f"VOUCH_UPSTREAMS ({path}): upstream {upstream.name!r} names "
                             f"token_env {upstream.token_env!r}, which is not set")
    return upstreams


def credential(upstream: Upstream) -> str | None:
    return os.environ.get(upstream.token_env) if upstream.token_env else None
