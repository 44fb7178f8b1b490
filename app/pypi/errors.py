"""Errors of Python uploads and reads, and the mapping of ``formats`` errors to them.

    raise from_format(err)        # formats.errors.FormatError -> a DomainError, same code

Messages follow PyPI's wording where clients look for it ("File already exists", "Only one
sdist may be uploaded per release."); the upload route also puts them in the status line.
"""

from __future__ import annotations

from app.core.errors import Conflict, DomainError, InvalidName, InvalidVersionError
from formats import errors as fmt


class InvalidFilename(DomainError):
    code = "invalid_filename"
    title = "Invalid distribution filename"


class InvalidDistribution(DomainError):
    code = "invalid_distribution"
    title = "Invalid distribution"


class MetadataMismatch(DomainError):
    code = "metadata_mismatch"
    title = "Metadata mismatch"


class InvalidUpload(DomainError):
    """The upload form itself: unknown action or protocol version, missing parts."""

    code = "invalid_upload"
    title = "Invalid upload"


class SdistExists(DomainError):
    code = "sdist_exists"
    title = "Only one sdist per release"

    def __init__(self, name: str, version: str) -> None:
        super().__init__("Only one sdist may be uploaded per release.", package=name,
                         version=version)


class FileExists(Conflict):
    """Another file was uploaded under this filename (PyPI's wording; twine and uv read it)."""

    code = "file_exists"
    title = "File already exists"

    def __init__(self, filename: str, sha256: str) -> None:
        super().__init__(f"File already exists ({filename!r}, with sha256 hash {sha256!r}). "
                         "A filename can only be used once: upload a new version instead.",
                         filename=filename)


_MAP: dict[type[fmt.FormatError], type[DomainError]] = {
    fmt.InvalidFilename: InvalidFilename,
    fmt.InvalidDistribution: InvalidDistribution,
    fmt.MetadataMismatch: MetadataMismatch,
    fmt.InvalidProjectName: InvalidName,
    fmt.InvalidVersion: InvalidVersionError,
}


def from_format(err: fmt.FormatError) -> DomainError:
    for kind, domain in _MAP.items():
        if isinstance(err, kind):
            return domain(err.detail)
    return InvalidDistribution(err.detail)
