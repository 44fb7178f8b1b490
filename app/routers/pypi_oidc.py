"""Trusted publishing at PyPI's paths, so `pypa/gh-action-pypi-publish` and `uv publish
--trusted-publishing always` work against Vouch with only the repository URL changed.

    GET  /_/oidc/audience               -> {"audience": "vouch"}
    POST /_/oidc/mint-token             {"token": "<OIDC JWT>"} -> {"success": true, "token":
                                        "vouch_...", "expires": <unix>}
    POST /_/oidc/github/mint-token      the same (PyPI's older path)
    POST /_/oidc/burn-token             {"token": "vouch_..."} -> 202: revoke a minted token
                                        once the upload is done (uv does this)

Thin wrappers over the exchange behind ``/api/v1/oidc`` (``app.pypi.oidc``); refusals are
problem+json plus PyPI's ``message`` and ``errors``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from app.deps import RegistryDep
from app.pypi import oidc
from app.trust.schemas import AudienceResponse, MintRequest

router = APIRouter(prefix="/_/oidc", tags=["trusted publishing"])

_MINT_DOC = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": MintRequest.model_json_schema()}}}}


@router.get("/audience", response_model=AudienceResponse,
            summary="The audience a CI OIDC token must be requested for (PyPI's path)")
def audience(registry: RegistryDep) -> dict[str, str]:
    return oidc.audience(registry)


@router.post("/mint-token", summary="Exchange a CI OIDC token for a publish token (PyPI's "
             "path and answer shape)", openapi_extra=_MINT_DOC)
@router.post("/github/mint-token", include_in_schema=False)
async def mint_token(request: Request, registry: RegistryDep) -> JSONResponse:
    body = await request.body()
    return await run_in_threadpool(oidc.mint, registry, body)


@router.post("/burn-token", status_code=202, openapi_extra=_MINT_DOC,
             summary="Revoke a token minted by the exchange (uv calls it after publishing)")
async def burn_token(request: Request, registry: RegistryDep) -> JSONResponse:
    body = await request.body()
    return await run_in_threadpool(oidc.burn, registry, body)
