"""Parse ``name@version`` arguments (scoped names keep their leading ``@``)."""

from __future__ import annotations

from client.errors import UsageError


def split_spec(spec: str) -> tuple[str, str]:
    """``@acme/x@1.2.3`` -> (``@acme/x``, ``1.2.3``); raises ``UsageError`` without a version."""
    at = spec.rfind("@")
    if at <= 0:
        raise UsageError(f"expected NAME@VERSION, got {spec!r}")
    return spec[:at], spec[at + 1:]


def parse_dependency(text: str) -> tuple[str, str]:
    """``name@range`` or ``name=range``; a bare name means any version (``*``)."""
    if "=" in text:
        name, _, spec = text.partition("=")
        return name.strip(), spec.strip() or "*"
    at = text.rfind("@")
    if at <= 0:
        return text.strip(), "*"
    return text[:at], text[at + 1:] or "*"
