"""Database tables (SQLModel). The schema itself is owned by Alembic migrations.

Data model after the Gitea package registry: Package 1—* PackageVersion 1—* PackageFile *—1
PackageBlob, plus accounts, tokens, provenance, trust configuration, advisories, the audit log
and the outbox. Table models never go on the wire: routers answer with each domain's
``schemas`` models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    LargeBinary,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel


def _ts(nullable: bool = False, index: bool = False) -> Any:
    return Field(
        default=None if nullable else ...,
        sa_column=Column(DateTime(timezone=True), nullable=nullable, index=index),
    )


def _json(default_factory: Any = dict) -> Any:
    return Field(default_factory=default_factory, sa_column=Column(JSON, nullable=False))


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True, index=True)
    is_admin: bool = False
    is_security: bool = False
    created_at: datetime = _ts()
    disabled_at: datetime | None = _ts(nullable=True)


class Org(SQLModel, table=True):
    __tablename__ = "orgs"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True, index=True)
    signature_policy: str | None = Field(default=None, max_length=16)
    created_at: datetime = _ts()


class Membership(SQLModel, table=True):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("org_id", "user_id", name="uq_membership"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="orgs.id", index=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    role: str = Field(default="member", max_length=16)  # owner | member
    created_at: datetime = _ts()


class ApiToken(SQLModel, table=True):
    """An API token. Only its SHA-256 is stored; the secret is shown once at creation."""

    __tablename__ = "api_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    trusted_publisher_id: int | None = Field(default=None, foreign_key="trusted_publishers.id")
    token_hash: str = Field(max_length=64, unique=True, index=True)
    prefix: str = Field(max_length=16)
    name: str = Field(default="", max_length=128)
    actions: list[str] = _json(list)
    package_patterns: list[str] = _json(list)
    created_at: datetime = _ts()
    expires_at: datetime | None = _ts(nullable=True)
    revoked_at: datetime | None = _ts(nullable=True)


class Package(SQLModel, table=True):
    __tablename__ = "packages"
    __table_args__ = (UniqueConstraint("ecosystem", "name", name="uq_package_name"),)

    id: int | None = Field(default=None, primary_key=True)
    ecosystem: str = Field(default="generic", max_length=16)
    name: str = Field(max_length=214, index=True)
    scope: str | None = Field(default=None, max_length=64, index=True)
    status: str = Field(default="active", max_length=16)  # active | quarantined
    signature_policy: str | None = Field(default=None, max_length=16)
    created_at: datetime = _ts()


class PackageOwner(SQLModel, table=True):
    __tablename__ = "package_owners"
    __table_args__ = (UniqueConstraint("package_id", "user_id", name="uq_package_owner"),)

    id: int | None = Field(default=None, primary_key=True)
    package_id: int = Field(foreign_key="packages.id", index=True)
    user_id: int = Field(foreign_key="users.id", index=True)


class PackageVersion(SQLModel, table=True):
    __tablename__ = "package_versions"
    __table_args__ = (
        # The database decides publish races: (package, version) is unique, forever.
        UniqueConstraint("package_id", "version", name="uq_package_version"),
        Index("ix_version_sort", "package_id", "sort_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    package_id: int = Field(foreign_key="packages.id")
    version: str = Field(max_length=256)
    sort_key: str = Field(max_length=512)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    license: str | None = Field(default=None, max_length=256)
    keywords: list[str] = _json(list)
    repository: str | None = Field(default=None, max_length=512)
    dependencies: dict[str, str] = _json(dict)
    dev_dependencies: dict[str, str] = _json(dict)
    published_at: datetime = _ts()
    published_by_id: int | None = Field(default=None, foreign_key="users.id")
    published_by: str = Field(max_length=128)
    deprecated: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    unpublished_at: datetime | None = _ts(nullable=True)
    quarantined_at: datetime | None = _ts(nullable=True)
    quarantine_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    downloads: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))


class PackageBlob(SQLModel, table=True):
    """Content-addressed bytes; shared by every file with the same sha256."""

    __tablename__ = "package_blobs"

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(max_length=64, unique=True, index=True)
    sha512: str = Field(max_length=128)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = _ts()


class PackageFile(SQLModel, table=True):
    __tablename__ = "package_files"
    __table_args__ = (UniqueConstraint("version_id", "filename", name="uq_version_file"),
                      # at most one sdist per Python release (migration 0013)
                      Index("uq_release_sdist", "version_id", unique=True,
                            sqlite_where=text("filetype = 'sdist'"),
                            postgresql_where=text("filetype = 'sdist'")))

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="package_versions.id", index=True)
    blob_id: int = Field(foreign_key="package_blobs.id", index=True)
    filename: str = Field(max_length=256)
    # Format-specific (issue 14; NULL for native artifacts): bdist_wheel | sdist, the file's
    # Requires-Python, when it was uploaded, and its core metadata bytes (PEP 658) + sha256.
    filetype: str | None = Field(default=None, max_length=16)
    requires_python: str | None = Field(default=None, max_length=256)
    uploaded_at: datetime | None = _ts(nullable=True)
    core_metadata_sha256: str | None = Field(default=None, max_length=64)
    core_metadata: bytes | None = Field(default=None,
                                        sa_column=Column(LargeBinary, nullable=True))


class Provenance(SQLModel, table=True):
    """What was verified about one file at publish time, and the raw evidence."""

    __tablename__ = "provenance"

    id: int | None = Field(default=None, primary_key=True)
    file_id: int = Field(foreign_key="package_files.id", unique=True, index=True)
    method: str = Field(max_length=16)  # sigstore | gpg | none
    raw: str = Field(sa_column=Column(Text, nullable=False))
    identity: dict[str, Any] = _json(dict)
    log_index: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    log_id: str | None = Field(default=None, max_length=128)
    integrated_time: datetime | None = _ts(nullable=True)
    verified_at: datetime = _ts()


class TrustedPublisher(SQLModel, table=True):
    __tablename__ = "trusted_publishers"

    id: int | None = Field(default=None, primary_key=True)
    package_name: str | None = Field(default=None, max_length=214, index=True)
    org_id: int | None = Field(default=None, foreign_key="orgs.id", index=True)
    provider: str = Field(default="github", max_length=32)
    repository: str = Field(max_length=256)
    # GitHub's numeric owner id: bound on first use, guards against a re-created repository.
    repository_owner_id: str | None = Field(default=None, max_length=32)
    workflow: str = Field(max_length=256)
    environment: str | None = Field(default=None, max_length=256)
    ref_pattern: str | None = Field(default=None, max_length=256)
    # provider "identity": one personal Sigstore identity (SAN) from one OIDC issuer (issue 12)
    identity: str | None = Field(default=None, max_length=256)
    issuer: str | None = Field(default=None, max_length=256)
    created_at: datetime = _ts()
    created_by: str = Field(max_length=128)
    # Set while the publisher is pending (its package does not exist yet): it stops acting
    # then, and is swept. Cleared when its registrant's package comes into existence.
    pending_expires_at: datetime | None = _ts(nullable=True, index=True)


class PendingPolicy(SQLModel, table=True):
    """A signature policy set on a name before its first version (trust/pending_policies)."""

    __tablename__ = "pending_policies"
    __table_args__ = (UniqueConstraint("package_name", "created_by",
                                       name="uq_pending_policy_user"),)

    id: int | None = Field(default=None, primary_key=True)
    package_name: str = Field(max_length=214, index=True)
    policy: str = Field(max_length=16)
    created_by: str = Field(max_length=128)
    created_at: datetime = _ts()
    expires_at: datetime = _ts(index=True)


class GpgKey(SQLModel, table=True):
    __tablename__ = "gpg_keys"
    __table_args__ = (UniqueConstraint("user_id", "fingerprint", name="uq_user_key"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    fingerprint: str = Field(max_length=64, index=True)
    armored: str = Field(sa_column=Column(Text, nullable=False))
    expires_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()
    revoked_at: datetime | None = _ts(nullable=True)


class GpgKeyChallenge(SQLModel, table=True):
    """A registry-issued nonce a user signs to prove they hold a GPG key's private half
    (issue 9). Bound to one user, short-lived, single use; only its SHA-256 is stored."""

    __tablename__ = "gpg_key_challenges"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    digest: str = Field(max_length=64, unique=True)
    created_at: datetime = _ts()
    expires_at: datetime = _ts(index=True)
    used_at: datetime | None = _ts(nullable=True)


class GpgFingerprint(SQLModel, table=True):
    """Every fingerprint (primary key and signing subkeys) ever registered, once: an active
    key belongs to one account, and a revoked key's fingerprints never come back (issue 9)."""

    __tablename__ = "gpg_fingerprints"

    fingerprint: str = Field(primary_key=True, max_length=64)
    gpg_key_id: int = Field(foreign_key="gpg_keys.id", index=True)


class UsedOidcToken(SQLModel, table=True):
    """Single use of CI OIDC tokens: a jti is accepted once."""

    __tablename__ = "used_oidc_tokens"

    jti: str = Field(primary_key=True, max_length=256)
    expires_at: datetime = _ts()


class Advisory(SQLModel, table=True):
    __tablename__ = "advisories"

    id: str = Field(primary_key=True, max_length=128)
    state: str = Field(default="draft", max_length=16)  # draft | published | withdrawn
    record: dict[str, Any] = _json(dict)
    summary: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    severity: str | None = Field(default=None, max_length=16)
    malicious: bool = False
    modified: datetime = _ts(index=True)
    published: datetime | None = _ts(nullable=True)
    withdrawn: datetime | None = _ts(nullable=True)
    withdrawn_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_by: str = Field(default="", max_length=128)


class AdvisoryPackage(SQLModel, table=True):
    """Which (ecosystem, name) an advisory names: the lookup index for queries."""

    __tablename__ = "advisory_packages"
    __table_args__ = (Index("ix_advisory_pkg", "ecosystem", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    advisory_id: str = Field(foreign_key="advisories.id", index=True, max_length=128)
    ecosystem: str = Field(max_length=32)
    name: str = Field(max_length=214)


class AuditEvent(SQLModel, table=True):
    """Append-only record of every state change."""

    __tablename__ = "audit_events"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(index=True)
    actor: str | None = Field(default=None, max_length=128)
    action: str = Field(max_length=64, index=True)
    package: str | None = Field(default=None, max_length=214, index=True)
    version: str | None = Field(default=None, max_length=256)
    details: dict[str, Any] = _json(dict)


class OutboxItem(SQLModel, table=True):
    """Derived work written in the same transaction as its cause; drained by the worker."""

    __tablename__ = "outbox"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32, index=True)
    payload: dict[str, Any] = _json(dict)
    created_at: datetime = _ts()
    available_at: datetime = _ts(index=True)
    processed_at: datetime | None = _ts(nullable=True, index=True)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
