"""Client-side errors and the documented exit codes.

| code | meaning |
|---|---|
| 0 | success |
| 1 | the registry refused (4xx problem) or a check failed (checksum, signature, policy) |
| 2 | usage error (bad arguments, missing configuration) |
| 3 | could not check or reach the registry (network error, 5xx) |
"""

from __future__ import annotations

from typing import Any

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3


class ClientError(Exception):
    """A failure to report to the user, with the exit code it maps to."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, *, code: str | None = None,
                 problem: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.problem = problem or {}


class UsageError(ClientError):
    exit_code = EXIT_USAGE


class RegistryUnavailable(ClientError):
    exit_code = EXIT_UNAVAILABLE


class IntegrityError(ClientError):
    """A downloaded artifact does not match its expected digest; nothing was written."""

    exit_code = EXIT_FAILED
