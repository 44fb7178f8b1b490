"""Domain errors: services raise these; ``app.core.problems`` maps them to HTTP in one table.

    raise VersionExists("left-pad", "1.0.0")

Every error carries a stable machine-readable ``code`` and an HTTP ``status``; the message
is safe to show to the caller (it never contains secrets).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any


class DomainError(Exception):
    """Root of every error a service raises on purpose."""

    # Plain attributes (not ClassVar): a subclass fixes them in its body, and the two errors
    # that carry a library's code (``SignatureRejected``, ``advisories.errors.LibraryError``)
    # set them per instance.
    code: str = "error"
    status: int = 400
    title: str = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


# 400 -----------------------------------------------------------------------------------------
class MalformedInput(DomainError):
    code = "malformed_input"
    title = "Malformed input"


class NulCharacter(MalformedInput):
    """A NUL character in text (path, query, JSON string, form field): never stored anywhere."""

    code = "nul_character"
    title = "NUL character in input"


class InvalidName(DomainError):
    code = "invalid_name"
    title = "Invalid package name"


class InvalidVersionError(DomainError):
    code = "invalid_version"
    title = "Invalid version"


class InvalidMetadata(DomainError):
    code = "invalid_metadata"
    title = "Invalid metadata"


class DeclaredDigestMismatch(DomainError):
    """The upload's sha256 is not the one the request declared (``signing``'s
    ``DigestMismatch``, code ``artifact_mismatch``, is a signature over other bytes)."""

    code = "digest_mismatch"
    title = "Digest mismatch"

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(
            f"the uploaded artifact has sha256 {actual}, but the request declared {expected}",
            expected=expected,
            actual=actual,
        )


class SignatureRejected(DomainError):
    """A signature was required, missing, or did not verify; ``code`` comes from signing."""

    title = "Signature rejected"

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


# 401 / 403 -----------------------------------------------------------------------------------
class NotAuthenticated(DomainError):
    code = "not_authenticated"
    status = 401
    title = "Authentication required"


class InvalidToken(DomainError):
    code = "invalid_token"
    status = 401
    title = "Invalid token"


class Forbidden(DomainError):
    code = "forbidden"
    status = 403
    title = "Forbidden"


class TokenScopeInsufficient(Forbidden):
    """The account may do this, but this token is limited (package patterns, action limits,
    read-only, or minted for a trusted publisher): account changes need an unrestricted
    token of a user."""

    code = "token_scope_insufficient"


# 404 / 410 -----------------------------------------------------------------------------------
class NotFound(DomainError):
    code = "not_found"
    status = 404
    title = "Not found"


class PackageNotFound(NotFound):
    code = "package_not_found"

    def __init__(self, name: str) -> None:
        super().__init__(f"package {name} does not exist", package=name)


class VersionNotFound(NotFound):
    code = "version_not_found"

    def __init__(self, name: str, version: str) -> None:
        super().__init__(f"{name}@{version} does not exist", package=name, version=version)


class VersionGone(DomainError):
    code = "version_unpublished"
    status = 410
    title = "Gone"

    def __init__(self, name: str, version: str) -> None:
        super().__init__(
            f"{name}@{version} was unpublished; its artifact is no longer served",
            package=name,
            version=version,
        )


class VersionQuarantined(DomainError):
    code = "version_quarantined"
    status = 403
    title = "Quarantined"

    def __init__(self, name: str, version: str, reason: str | None = None) -> None:
        super().__init__(
            f"{name}@{version} is quarantined by the security team"
            + (f": {reason}" if reason else ""),
            package=name,
            version=version,
        )


# 409 -----------------------------------------------------------------------------------------
class Conflict(DomainError):
    code = "conflict"
    status = 409
    title = "Conflict"


class VersionExists(Conflict):
    code = "version_exists"

    def __init__(self, name: str, version: str) -> None:
        # "File already exists" is what twine looks for; keep the wording.
        super().__init__(
            f"File already exists: {name}@{version} is published and versions are immutable",
            package=name,
            version=version,
        )


class VersionBurned(Conflict):
    code = "version_burned"

    def __init__(self, name: str, version: str) -> None:
        super().__init__(
            f"File already exists: {name}@{version} was unpublished and its number is burned "
            "forever; publish a new version",
            package=name,
            version=version,
        )


class UnpublishWindowClosed(Conflict):
    code = "unpublish_window_closed"

    def __init__(self, name: str, version: str, published_at: datetime, grace: timedelta) -> None:
        super().__init__(
            f"{name}@{version} was published at {published_at.isoformat()}, more than "
            f"{_human(grace)} ago; it can no longer be unpublished. Deprecate it instead "
            f"(vouch deprecate {name}@{version} --message ...)",
            package=name,
            version=version,
            published_at=published_at.isoformat(),
            grace_seconds=int(grace.total_seconds()),
        )


class AlreadyExists(Conflict):
    code = "already_exists"


class TooManyPendingPublishers(Conflict):
    """A user may hold only a few pending trusted publishers (issue 9; PyPI allows 3)."""

    code = "too_many_pending_publishers"


# 413 / 422 / 503 -----------------------------------------------------------------------------
class PayloadTooLarge(DomainError):
    code = "payload_too_large"
    status = 413
    title = "Payload too large"


class UnmetDependencies(DomainError):
    code = "unmet_dependencies"
    status = 422
    title = "Unmet dependencies"

    def __init__(self, unmet: list[dict[str, str]]) -> None:
        listing = "; ".join(f"{u['name']} {u['range']}: {u['reason']}" for u in unmet)
        super().__init__(f"dependencies not satisfiable in this registry: {listing}", unmet=unmet)


class ServiceUnavailable(DomainError):
    code = "service_unavailable"
    status = 503
    title = "Service unavailable"
    # Seconds for a Retry-After header (app.core.problems sends it when set).
    retry_after: int | None = None


class DatabaseUnavailable(ServiceUnavailable):
    """The database cannot answer now (down, unreachable, restarting, out of connections, or
    SQLite's disk or lock): the request may be retried. ``app.core.db_errors`` decides which
    driver errors these are; the detail never repeats the driver's message or the URL."""

    code = "database_unavailable"
    retry_after = 5

    def __init__(self, *, busy: bool = False) -> None:
        super().__init__("the database is busy; retry the request shortly" if busy else
                         "the database is unavailable; retry the request shortly")
        self.reason = "busy" if busy else "unavailable"  # for logs, never sent


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
