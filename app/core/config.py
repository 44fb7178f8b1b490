"""Settings from ``VOUCH_*`` environment variables; the only place the service reads them.

    settings = Settings()                       # from the environment
    settings = Settings(data_dir=tmp, environment="development")

Invalid values raise ``pydantic.ValidationError`` at start-up, never later.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.core.durations import parse_duration
from signing.issuers import GITHUB_ACTIONS_ISSUER

log = logging.getLogger("vouch.config")

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
SignaturePolicyName = Literal["sigstore", "gpg", "any", "none"]


class Settings(BaseSettings):
    """Typed configuration of one registry instance."""

    model_config = SettingsConfigDict(env_prefix="VOUCH_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("./var")
    database_url: str | None = None
    unpublish_grace: Duration = timedelta(hours=24)
    max_upload_bytes: int = Field(default=100 * 1024 * 1024, gt=0)
    max_metadata_bytes: int = Field(default=64 * 1024, gt=0)
    # Hostile input (issue 9): JSON bodies have their own caps, far below the artifact cap, and
    # a nesting limit checked before anything parses them (app.core.limits, app.core.input_guards).
    max_json_bytes: int = Field(default=1024 * 1024, gt=0)
    max_json_batch_bytes: int = Field(default=8 * 1024 * 1024, gt=0)
    max_json_depth: int = Field(default=64, ge=2, le=512)
    # Slow clients (`vouch serve`, app.core.slow_clients): a request's headers must arrive within
    # request_header_timeout of the connection opening (or of the previous response); its body
    # may pause at most request_body_idle_timeout and must arrive within request_body_timeout.
    # A big download sent from its file (app.core.send_file) is cut off when the client reads
    # nothing for request_body_idle_timeout.
    request_header_timeout: Duration = timedelta(seconds=15)
    request_body_idle_timeout: Duration = timedelta(seconds=30)
    request_body_timeout: Duration = timedelta(minutes=10)
    download_flush_interval: Duration = timedelta(seconds=2)
    metadata_cache_ttl: Duration = timedelta(seconds=30)
    # Behind nginx: answer downloads with X-Accel-Redirect to this internal location, which
    # serves the blob directory (nginx sends files far faster than Python can).
    accel_redirect_prefix: str | None = None

    # Signatures (issue 4)
    default_signature_policy: SignaturePolicyName = "any"
    sigstore_trust: str = "public-good"
    rekor_url: str | None = None
    rekor_mode: Literal["off", "fail_closed", "fail_open"] = "off"
    oidc_issuer: str = GITHUB_ACTIONS_ISSUER
    oidc_audience: str = "vouch"
    oidc_jwks_url: str | None = None
    oidc_jwks_file: Path | None = None
    oidc_token_lifetime: Duration = timedelta(minutes=15)

    # npm (issue 15): the registry's ECDSA P-256 key that signs every npm version (PEM, kept
    # outside the database). Development: <data dir>/npm-signing-key.pem, created on first
    # start; production: must be set and the file must exist.
    npm_signing_key: Path | None = None
    # npm's trusted publishing (npm >= 11.5.1 in GitHub Actions) asks for an OIDC token with
    # the audience "npm:<registry hostname>"; set it to enable the exchange.
    npm_oidc_audience: str | None = None

    # Search (issue 6)
    # "sqlite" and "tantivy" are accepted as names of the embedded backend (tantivy, measured
    # faster than SQLite FTS5: see search/README.md).
    search_backend: Literal["sqlite", "embedded", "tantivy", "elasticsearch"] = "embedded"
    elasticsearch_url: str | None = None
    # Drain the outbox (search updates) in a thread of the server process. Turn off when a
    # separate `vouch worker` runs (the scale-out deployment).
    run_worker: bool = True

    # Blob storage (issue 16): the filesystem under data_dir, or an S3 bucket (AWS S3, MinIO,
    # any S3-compatible service). Credentials only through the AWS SDK's standard chain
    # (environment, profile, container or instance role), never here.
    blob_store: Literal["filesystem", "s3"] = "filesystem"
    s3_bucket: str | None = None
    s3_prefix: str = ""
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    # The address clients reach the store at, for presigned URLs (default: s3_endpoint_url).
    s3_presign_endpoint_url: str | None = None
    s3_multipart_threshold: int = Field(default=16 * 1024 * 1024, gt=0)
    s3_part_size: int = Field(default=8 * 1024 * 1024, ge=5 * 1024 * 1024)
    # Downloads: proxy (the app streams the bytes) or redirect (307 to a presigned S3 GET
    # valid s3_presign_expiry; S3 only).
    download_mode: Literal["proxy", "redirect"] = "proxy"
    s3_presign_expiry: Duration = timedelta(minutes=15)

    # Upstream proxy (issue 17): a TOML file of [[upstream]] tables (app.proxy.config), read
    # and checked at start-up; secrets only through the environment variables it names.
    upstreams: Path | None = None

    @model_validator(mode="after")
    def _refuse_unsafe_outside_development(self) -> Settings:
        if self.default_signature_policy == "none":
            if self.environment != "development":
                raise ValueError(
                    "VOUCH_DEFAULT_SIGNATURE_POLICY=none (unsigned publishes) is refused "
                    "outside VOUCH_ENVIRONMENT=development"
                )
            log.warning(
                "INSECURE: VOUCH_DEFAULT_SIGNATURE_POLICY=none accepts unsigned publishes; "
                "never run this in production"
            )
        if self.environment == "production" and self.npm_signing_key is None:
            raise ValueError("VOUCH_NPM_SIGNING_KEY (the npm registry signing key, a PEM file) "
                             "is required when VOUCH_ENVIRONMENT=production")
        if self.search_backend == "elasticsearch" and not self.elasticsearch_url:
            raise ValueError("VOUCH_SEARCH_BACKEND=elasticsearch needs VOUCH_ELASTICSEARCH_URL")
        return self

    @model_validator(mode="after")
    def _check_blob_store(self) -> Settings:
        if self.blob_store == "s3" and not self.s3_bucket:
            raise ValueError("VOUCH_BLOB_STORE=s3 needs VOUCH_S3_BUCKET")
        if self.download_mode == "redirect" and self.blob_store != "s3":
            raise ValueError("VOUCH_DOWNLOAD_MODE=redirect needs VOUCH_BLOB_STORE=s3")
        if self.blob_store == "s3" and self.accel_redirect_prefix:
            raise ValueError("VOUCH_ACCEL_REDIRECT_PREFIX serves a blob directory; with "
                             "VOUCH_BLOB_STORE=s3 use VOUCH_DOWNLOAD_MODE=redirect instead")
        if not timedelta(seconds=1) <= self.s3_presign_expiry <= timedelta(days=7):
            raise ValueError("VOUCH_S3_PRESIGN_EXPIRY must be between 1s and 7d (S3's limit)")
        return self

    @model_validator(mode="after")
    def _check_upstreams(self) -> Settings:
        from app.proxy.config import load_upstreams

        load_upstreams(self.upstreams)  # ValueError naming the file, the upstream and the key
        return self

    @property
    def resolved_database_url(self) -> str:
        """The configured URL, or a SQLite file inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'vouch.db').resolve()}"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def search_dir(self) -> Path:
        return self.data_dir / "search"
