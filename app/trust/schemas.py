"""Wire models of the trust domain's API: the OIDC exchange's request and answers (PyPI's
shapes, research/registries-and-protocols.md 1b).

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
