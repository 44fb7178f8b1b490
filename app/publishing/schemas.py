"""Publishing's wire models: the publish metadata part, deprecation, version and package
documents, provenance, range resolution and batch metadata (never table models)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

_MAX_DEPS = 500


class PublishMetadata(BaseModel):
    """The ``metadata`` part of a publish: strict, bounded, no unknown keys."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    description: str = Field(default="", max_length=20_000)
    license: str | None = Field(default=None, max_length=256)
    keywords: list[str] = Field(default_factory=list, max_length=50)
    repository: str | None = Field(default=None, max_length=512)
    dependencies: dict[str, str] = Field(default_factory=dict)
    dev_dependencies: dict[str, str] = Field(default_factory=dict)

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, value: list[str]) -> list[str]:
        for keyword in value:
            if not keyword or len(keyword) > 64:
                raise ValueError("keywords are 1 to 64 characters")
        return value

    @field_validator("dependencies", "dev_dependencies")
    @classmethod
    def _deps(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > _MAX_DEPS:
            raise ValueError(f"at most {_MAX_DEPS} dependencies")
        for name, spec in value.items():
            if len(name) > 214 or len(spec) > 256:
                raise ValueError("dependency names are at most 214 and ranges 256 characters")
        return value


class DeprecationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str = Field(min_length=1, max_length=2_000)


class SignerPublic(BaseModel):
    method: str
    identity: dict[str, Any]
    log_index: int | None = None
    integrated_time: datetime | None = None
    verified_at: datetime


class VersionPublic(BaseModel):
    name: str
    version: str
    description: str
    license: str | None
    keywords: list[str]
    repository: str | None
    dependencies: dict[str, str]
    dev_dependencies: dict[str, str]
    filename: str | None
    sha256: str | None
    sha512: str | None
    size: int | None
    published_at: datetime
    published_by: str
    deprecated: str | None
    unpublished: bool
    unpublished_at: datetime | None
    quarantined: bool
    downloads: int
    artifact_url: str | None
    signer: SignerPublic | None = None
    advisories: list[dict[str, Any]] = Field(default_factory=list)


class VersionSummary(BaseModel):
    version: str
    published_at: datetime
    deprecated: str | None
    unpublished: bool
    quarantined: bool


class PackagePublic(BaseModel):
    name: str
    ecosystem: str
    status: str
    created_at: datetime
    latest: str | None
    downloads: int
    versions: list[VersionSummary]


class ProvenancePublic(BaseModel):
    """The evidence stored at publish time and what was verified from it (timestamps are ISO
    8601 text): ``bundle`` (Sigstore) or ``signature`` with ``public_key`` (GPG)."""

    name: str
    version: str
    method: str
    identity: dict[str, Any]
    log_index: int | None
    log_id: str | None
    integrated_time: str | None
    verified_at: str
    bundle: dict[str, Any] | None
    signature: str | None
    public_key: str | None


class ResolvedVersion(BaseModel):
    """The highest available version satisfying a range (non-deprecated preferred)."""

    name: str
    range: str
    version: str
    deprecated: str | None
    artifact_url: str


class MetadataVersion(BaseModel):
    version: str
    dependencies: dict[str, Any]
    published_at: str
    deprecated: str | None
    unpublished: bool
    quarantined: bool
    sha256: str | None
    sha512: str | None
    size: int | None
    artifact_url: str | None = Field(description="null when the version cannot be downloaded")
    signed: bool
    signing_method: str | None = Field(description="sigstore or gpg; null when unsigned")


class MetadataPackage(BaseModel):
    name: str
    status: str
    versions: list[MetadataVersion]


class BatchMetadata(BaseModel):
    """Many packages' versions, dependencies and digests; ``missing``: names not found."""

    packages: dict[str, MetadataPackage]
    missing: list[str]
