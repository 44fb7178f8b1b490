"""Errors of the npm protocol, and the mapping of ``formats`` errors to domain errors.

    raise from_format(err)        # formats.errors.FormatError -> a DomainError, same code

npm prints a refusal's ``error`` field (not ``detail``), so the npm routes copy the detail
there (``app.routers.npm``). Messages follow the npm registry's wording where users know it
("You cannot publish over the previously published versions: 1.0.0.").
"""

from __future__ import annotations

from app.core.errors import (
    DomainError,
    InvalidMetadata,
    InvalidName,
    InvalidVersionError,
    VersionBurned,
    VersionExists,
)
from app.pypi.errors import InvalidDistribution, InvalidFilename, MetadataMismatch
from formats import errors as fmt
from formats.npm import errors as npm_errors


class IntegrityMismatch(DomainError):
    """``dist.integrity``, ``dist.shasum`` or an attachment's ``length`` is not the tarball's."""

    code = "digest_mismatch"
    title = "Digest mismatch"


class PublishedOver(VersionExists):
    def __init__(self, name: str, version: str) -> None:
        DomainError.__init__(
            self, f"You cannot publish over the previously published versions: {version}.",
            package=name, version=version)


class PublishedOverBurned(VersionBurned):
    def __init__(self, name: str, version: str) -> None:
        DomainError.__init__(
            self, f"You cannot publish over the previously published versions: {version}. "
            f"{name}@{version} was unpublished and its number is burned forever: publish a "
            "new version.", package=name, version=version)


_MAP: dict[type[fmt.FormatError], type[DomainError]] = {
    npm_errors.IntegrityMismatch: IntegrityMismatch,
    npm_errors.InvalidPublish: InvalidMetadata,
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
