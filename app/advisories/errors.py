"""Domain errors of the advisory service, and the mapping of ``advisories`` library errors.

    raise AdvisoryNotFound("GHSA-xxxx-yyyy-zzzz")
    try:
        lifecycle.publish(record, now=now)
    except AdvisoryError as err:
        raise from_library(err) from err      # keeps the library's stable ``code``

Codes: ``invalid_advisory``, ``invalid_advisory_id``, ``invalid_severity``, ``invalid_purl``,
``unknown_ecosystem``, ``invalid_query`` (400); ``advisory_not_found`` (404);
``advisory_withdrawn``, ``advisory_already_published``, ``advisory_not_published``,
``advisory_not_malicious`` (409).
"""

from __future__ import annotations

from advisories.errors import AdvisoryError, InvalidAdvisory
from app.core.errors import Conflict, DomainError, MalformedInput, NotFound

_CONFLICT_CODES = frozenset({"advisory_withdrawn", "advisory_already_published"})


class AdvisoryNotFound(NotFound):
    code = "advisory_not_found"

    def __init__(self, advisory_id: str, detail: str | None = None) -> None:
        # "Vulnerability not found" is OSV.dev's wording; OSV clients may look for it.
        super().__init__(detail or f"Vulnerability not found: {advisory_id}",
                         advisory_id=advisory_id)


class InvalidQuery(MalformedInput):
    """An OSV query the API refuses (both a version and a versioned purl, too many queries)."""

    code = "invalid_query"
    title = "Invalid query"


class AdvisoryNotPublished(Conflict):
    code = "advisory_not_published"

    def __init__(self, advisory_id: str, action: str) -> None:
        super().__init__(f"{advisory_id} is a draft; publish it before you {action} it",
                         advisory_id=advisory_id)


class AdvisoryNotMalicious(Conflict):
    code = "advisory_not_malicious"

    def __init__(self, advisory_id: str) -> None:
        super().__init__(
            f"{advisory_id} does not report a malicious package; only malicious advisories "
            "(database_specific.malicious: true, or a MAL- id) quarantine versions",
            advisory_id=advisory_id)


class LibraryError(DomainError):
    """An ``advisories`` library error, keeping its ``code`` (and reasons, when it has them)."""

    title = "Invalid advisory"

    def __init__(self, code: str, status: int, detail: str, **extra: object) -> None:
        super().__init__(detail, **extra)
        self.code = code
        self.status = status
        if status == 409:
            self.title = "Conflict"


def from_library(err: AdvisoryError) -> DomainError:
    """The domain error for a library error: 409 for state conflicts, 400 for bad input."""
    status = 409 if err.code in _CONFLICT_CODES else 400
    extra: dict[str, object] = {}
    if isinstance(err, InvalidAdvisory):
        extra["reasons"] = list(err.reasons)
        if err.advisory_id:
            extra["advisory_id"] = err.advisory_id
    return LibraryError(err.code, status, str(err), **extra)
