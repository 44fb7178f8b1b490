"""Accounts' wire models: the caller, tokens, users, organisations and memberships in and
out (never table models)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="", max_length=128)
    actions: list[str] = Field(default_factory=list)
    packages: list[str] = Field(default_factory=list)
    expires_in: str | None = None


class TokenPublic(BaseModel):
    id: int
    name: str
    prefix: str
    actions: list[str]
    packages: list[str]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenPublic):
    token: str


class OrgCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)


class OrgPublic(BaseModel):
    name: str
    scope: str
    role: str | None = Field(description="the caller's role (owner or member); None for an "
                                         "administrator who is not a member")
    members: int


class UserCreate(BaseModel):
    """Strict: ``admin``/``security`` are JSON booleans (``"no"``, ``1`` or an object are
    refused with 422, never read as truthy)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(min_length=1, max_length=128)
    admin: bool = False
    security: bool = False


class MemberAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user: str
    role: str = Field(default="member", pattern="^(owner|member)$")


class OrgCreated(BaseModel):
    name: str
    scope: str = Field(description="@name: the package scope the organisation owns")


class MemberPublic(BaseModel):
    org: str
    user: str
    role: str


class UserPublic(BaseModel):
    name: str
    admin: bool
    security: bool


class WhoAmI(BaseModel):
    """The caller and what their token allows (empty lists: no limits)."""

    name: str
    admin: bool
    security: bool
    actions: list[str]
    packages: list[str]
