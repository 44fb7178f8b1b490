"""The proxy's errors (problem+json through ``app.core.problems``)."""

from __future__ import annotations

from app.core.errors import DomainError


class UpstreamUnavailable(DomainError):
    """The upstream refused the connection, answered 5xx or garbage, and nothing cached can
    answer instead."""

    code = "upstream_unavailable"
    status = 502
    title = "Upstream unavailable"


class UpstreamTimeout(DomainError):
    """The upstream did not answer within its ``timeout``, and nothing cached can answer."""

    code = "upstream_timeout"
    status = 504
    title = "Upstream timed out"


class UpstreamDigestMismatch(DomainError):
    """The upstream's bytes are not the ones its metadata advertises (or it advertises no
    sha256): refused before anything is stored or served."""

    code = "upstream_digest_mismatch"
    status = 502
    title = "Upstream digest mismatch"


class UpstreamUnsigned(DomainError):
    """The upstream's policy is ``unsigned = "refuse"`` and this version carries no verified
    provenance."""

    code = "upstream_unsigned"
    status = 403
    title = "Unsigned upstream version"
