"""Domain errors of the advisory library, each with a stable machine-readable ``code``.

Example::

    from advisories.errors import InvalidAdvisory
    try:
        Advisory.from_json({"id": "nope"})
    except InvalidAdvisory as err:
        print(err.code, err.reasons)   # invalid_advisory ['id: ...', ...]

The HTTP layer maps ``code`` to a problem+json response; nothing here knows about HTTP.
"""

from __future__ import annotations


class AdvisoryError(Exception):
    """Root of every error this package raises on purpose."""

    code = "advisory_error"


class InvalidAdvisory(AdvisoryError):
    """A record failed the OSV schema or the model's stricter checks.

    ``reasons`` lists one human-readable line per problem, each starting with the JSON path
    of the offending value (``affected/0/ranges/0/events/1: ...``).
    """

    code = "invalid_advisory"

    def __init__(self, reasons: list[str], advisory_id: str | None = None) -> None:
        self.reasons = list(reasons)
        self.advisory_id = advisory_id
        head = f"{advisory_id}: " if advisory_id else ""
        super().__init__(head + "; ".join(self.reasons))


class UnknownEcosystem(AdvisoryError):
    """An ecosystem name that is neither a Vouch ecosystem nor an OSV ecosystem we know."""

    code = "unknown_ecosystem"

    def __init__(self, ecosystem: str) -> None:
        self.ecosystem = ecosystem
        super().__init__(f"unknown ecosystem {ecosystem!r}")


class InvalidAdvisoryId(AdvisoryError):
    """An advisory id the OSV schema would refuse, or not a local ``x_VOUCH-`` id when one
    was required."""

    code = "invalid_advisory_id"

    def __init__(self, advisory_id: str, reason: str) -> None:
        self.advisory_id = advisory_id
        self.reason = reason
        super().__init__(f"{advisory_id!r}: {reason}")


class InvalidSeverity(AdvisoryError):
    """A CVSS vector the ``cvss`` library cannot parse or score."""

    code = "invalid_severity"

    def __init__(self, vector: str, reason: str) -> None:
        self.vector = vector
        self.reason = reason
        super().__init__(f"{vector!r}: {reason}")


class AdvisoryWithdrawn(AdvisoryError):
    """An edit, publish or second withdrawal of a record that is already withdrawn."""

    code = "advisory_withdrawn"

    def __init__(self, advisory_id: str) -> None:
        self.advisory_id = advisory_id
        super().__init__(f"{advisory_id} is withdrawn")


class AdvisoryAlreadyPublished(AdvisoryError):
    """``publish`` of a record that already has a ``published`` timestamp."""

    code = "advisory_already_published"

    def __init__(self, advisory_id: str) -> None:
        self.advisory_id = advisory_id
        super().__init__(f"{advisory_id} is already published")


class InvalidPurl(AdvisoryError):
    """A package URL that is malformed or names a type Vouch does not serve."""

    code = "invalid_purl"

    def __init__(self, purl: str, reason: str) -> None:
        self.purl = purl
        self.reason = reason
        super().__init__(f"{purl!r}: {reason}")
