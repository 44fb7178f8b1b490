"""The one error tree raised by ``formats``.

    >>> from formats.errors import FormatError, InvalidFilename
    >>> try:
    ...     raise InvalidFilename("x.exe is not a wheel or sdist filename")
    ... except FormatError as err:
    ...     (err.code, str(err))
    ('invalid_filename', 'x.exe is not a wheel or sdist filename')

Each subclass carries a stable, machine-readable ``code`` that the registry maps to
problem+json; the message is for humans (and short enough for an HTTP reason phrase).
"""

from __future__ import annotations


class FormatError(Exception):
    """Root of every format failure."""

    code: str = "invalid_distribution"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidProjectName(FormatError):
    """A project name that breaks the format's naming rules."""

    code = "invalid_name"


class InvalidVersion(FormatError):
    """A version that is not valid in the format's scheme."""

    code = "invalid_version"


class InvalidFilename(FormatError):
    """A distribution filename the format does not accept."""

    code = "invalid_filename"


class InvalidDistribution(FormatError):
    """The bytes are not a readable distribution of the kind the filename says, or their
    metadata is missing or cannot be parsed."""

    code = "invalid_distribution"


class MetadataMismatch(FormatError):
    """The filename, the upload form and the metadata inside the file disagree."""

    code = "metadata_mismatch"
