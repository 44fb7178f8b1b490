"""Accounts' wire models: tokens and organisations in and out (never table models)."""

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
