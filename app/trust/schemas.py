"""Wire models of the trust domain's API: the OIDC exchange's request and answers (PyPI's
shapes, research/registries-and-protocols.md 1b), and trust configuration's (publishers, GPG
keys, signature policies) in and out.

    MintRequest(token="<GitHub Actions OIDC JWT>")      # 422 when empty, > 16 KiB, extra keys
    MintResponse(token="vouch_...", expires=1764900000, packages=["demo"])
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class MintRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, max_length=16 * 1024,
                       description="the CI provider's OIDC token (a JWT)")


class MintResponse(BaseModel):
    success: bool = True
    token: str = Field(description="a publish-only API token; send it as a Bearer token")
    expires: int = Field(description="expiry, in seconds since the Unix epoch")
    packages: list[str] = Field(description="the package names or @scope/* it may publish")


class AudienceResponse(BaseModel):
    audience: str


# -- trust configuration: trusted publishers, GPG keys, signature policies --------------------
class PublisherCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: str = Field(description="a package name, or @scope for every package of an org",
                        max_length=214)
    provider: str = Field(
        default="github", pattern="^(github|identity)$",
        description="github: a GitHub Actions workflow (repository, workflow); identity: a "
                    "personal Sigstore identity (identity, issuer), as `sigstore sign` "
                    "produces from a browser login")
    repository: str | None = Field(default=None, max_length=256)
    repository_owner_id: str | None = Field(
        default=None, pattern=r"^[0-9]{1,20}$",
        description="GitHub's numeric owner id; bound on first use when omitted")
    workflow: str | None = Field(default=None, max_length=256)
    environment: str | None = Field(default=None, max_length=256)
    ref_pattern: str | None = Field(default=None, max_length=256)
    identity: str | None = Field(default=None, max_length=256,
                                 description="the certificate's identity, e.g. an e-mail")
    issuer: str | None = Field(default=None, max_length=256,
                               description="the OIDC issuer URL, e.g. "
                                           "https://github.com/login/oauth")


class PublisherPublic(BaseModel):
    """A trusted publisher as the API shows it (timestamps are ISO 8601 text)."""

    id: int
    package: str | None = Field(description="the package it publishes, or null for a scope")
    scope: str | None = Field(description="@org for a scope-wide publisher")
    provider: str
    repository: str | None
    repository_owner_id: str | None
    workflow: str | None
    environment: str | None
    ref_pattern: str | None
    identity: str | None
    issuer: str | None
    describe: str = Field(description="one line a person can read")
    created_by: str
    created_at: str
    pending_expires_at: str | None = Field(
        description="set while the package does not exist yet (a pending publisher)")


class GpgKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    armored: str = Field(max_length=200_000, description="ASCII-armored public key")
    # Optional in the schema so that a request without them (the pre-issue-9 shape) gets a
    # 400 with a code that says what is missing, not a bare validation error.
    challenge: str | None = Field(
        default=None, max_length=512,
        description="text from GET /api/v1/gpg-keys/challenge, unchanged")
    signature: str | None = Field(
        default=None, max_length=64 * 1024,
        description="armored detached signature of the challenge text, made with this key "
                    "(gpg --armor --detach-sign)")


class GpgKeyPublic(BaseModel):
    """A registered GPG key (timestamps are ISO 8601 text)."""

    fingerprint: str
    expires_at: str | None
    created_at: str
    revoked_at: str | None


class GpgChallenge(BaseModel):
    challenge: str
    expires_at: str


class PolicyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: str = Field(max_length=214)
    policy: str | None


class PolicyPublic(BaseModel):
    target: str
    policy: str | None
    pending_expires_at: str | None = Field(
        description="set when the policy is pending (the name has no version yet)")
