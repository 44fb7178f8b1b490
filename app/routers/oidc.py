"""Trusted publishing endpoints, in PyPI's shapes (research/registries-and-protocols.md, 1b).

    GET  /api/v1/oidc/audience     -> {"audience": "vouch"}
    POST /api/v1/oidc/mint-token   {"token": "<GitHub Actions OIDC JWT>"}
                                   -> {"success": true, "token": "vouch_...", "expires": <unix>}

Errors are problem+json: ``invalid_token`` / ``invalid_reuse_token`` (401),
``invalid_publisher`` (403), ``oidc_jwks_unavailable`` (503), ``validation_error`` (422).
"""

from __future__ import annotations

from fastapi import APIRouter

from app.deps import RegistryDep
from app.trust.schemas import AudienceResponse, MintRequest, MintResponse

router = APIRouter(prefix="/api/v1/oidc", tags=["trusted publishing"])


@router.get("/audience", response_model=AudienceResponse,
            summary="The audience a CI OIDC token must be requested for")
def audience(registry: RegistryDep) -> AudienceResponse:
    return AudienceResponse(audience=registry.settings.oidc_audience)


@router.post("/mint-token", response_model=MintResponse,
             summary="Exchange a GitHub Actions OIDC token for a short-lived publish token")
def mint_token(body: MintRequest, registry: RegistryDep) -> MintResponse:
    minted = registry.oidc.mint(body.token)
    return MintResponse(token=minted.secret, expires=int(minted.expires_at.timestamp()),
                        packages=minted.packages)
