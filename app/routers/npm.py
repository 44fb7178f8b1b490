"""The npm registry protocol, mounted under ``/npm/``: ``npm --registry http://HOST/npm/``.

    GET  /npm/{name}, /npm/@{scope}/{name}   packument (``@scope%2fname``, either case of %2f);
                                             abbreviated for the npm install Accept type
    GET  /npm/{name}/-/{file}.tgz            the tarball (rules and counting as every download)
    PUT  /npm/{name}                         npm publish (Authorization: Bearer <vouch token>)
    GET  /npm/-/whoami, /npm/-/ping          identity, health
    GET/PUT/DELETE /npm/-/package/{name}/dist-tags[/{tag}]   npm dist-tag ls / add / rm
    GET  /npm/-/npm/v1/keys                  the registry's signing keys (npm audit signatures)
    POST /npm/-/npm/v1/security/advisories/bulk   npm audit (gzip'ed body)
    PUT  /npm/-/vouch/signature/{sha512}     stage a GPG signature for ``npm publish`` (Vouch's)
    POST /npm/-/npm/v1/oidc/token/exchange/package/{name}   npm trusted publishing

Routes parse, call ``app.npm.service.NpmService`` (``app.state.npm``) and answer. Every error
is problem+json with its stable ``code``; npm prints only a refusal's ``error`` field, so the
route class copies ``detail`` there.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from app.core.errors import DomainError, NotAuthenticated, PackageNotFound
from app.deps import PrincipalDep, RegistryDep
from app.npm import oidc
from app.npm.fast_packuments import HOSTED_HEADER
from app.npm.oidc import NpmOidcExchange
from app.npm.service import NpmService
from app.npm.tags import version_of_body
from app.proxy.responses import proxied_packument, proxied_tarball
from app.publishing.downloads import Artifact
from app.publishing.remote_downloads import redirect_download, remote_blob_response
from app.routers.packages import OpenBlobResponse
from app.storage import blob_key
from formats.npm.packument import ABBREVIATED_MEDIA_TYPE, wants_abbreviated

_IMMUTABLE = "public, max-age=31536000, immutable"


class _NpmRoute(APIRoute):
    """Puts a refusal's detail in ``error`` too: the npm CLI shows that field, not ``detail``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except DomainError as err:
                err.extra.setdefault("error", err.detail)
                raise

        return route


router = APIRouter(prefix="/npm", tags=["npm"], route_class=_NpmRoute)


def _npm(request: Request) -> NpmService:
    service: NpmService = request.app.state.npm
    return service


def _base(request: Request) -> str:
    return f"{request.base_url}npm/"


@router.get("/-/ping", summary="npm ping")
def ping() -> dict[str, Any]:
    return {}


@router.get("/-/whoami", summary="npm whoami: the account the token belongs to")
def whoami(principal: PrincipalDep) -> dict[str, str]:
    return {"username": principal.name}


@router.get("/-/v1/search", summary="npm search over the registry's search index")
def npm_search(request: Request, text: str = "", size: int = 20,
               offset: int = Query(0, alias="from")) -> dict[str, Any]:
    return _npm(request).search(text, size=max(1, min(size, 250)), offset=max(0, offset),
                                base_url=_base(request))


@router.get("/-/npm/v1/keys", summary="The registry's npm signing keys (npm audit signatures)")
def keys(request: Request) -> dict[str, Any]:
    return _npm(request).keys()


#: npm posts its OIDC exchange to the registry host's root, whatever the registry's path.
root_router = APIRouter(tags=["npm"], route_class=_NpmRoute)


@root_router.post("/-/npm/v1/oidc/token/exchange/package/{name:path}", status_code=201,
                  summary="npm trusted publishing (the path npm 11 uses)")
@router.post("/-/npm/v1/oidc/token/exchange/package/{name:path}", status_code=201,
             summary="npm trusted publishing: a CI OIDC token for a publish token")
def oidc_exchange(name: str, request: Request) -> dict[str, Any]:
    exchange: NpmOidcExchange | None = request.app.state.npm_oidc
    try:
        if exchange is None:
            raise oidc.disabled()
        id_token = request.headers.get("x-vouch-npm-id-token")
        if not id_token:
            raise NotAuthenticated("send the CI's OIDC token: Authorization: Bearer <token>")
        minted = exchange.exchange(id_token, name)
    except DomainError as err:  # npm logs the body's message (at --loglevel verbose)
        err.extra.setdefault("message", err.detail)
        raise
    return {"token": minted.secret}


@router.get("/-/npm/v1/attestations/{spec:path}",
            summary="The provenance verified at publish (npm audit signatures)")
def attestations(spec: str, request: Request) -> dict[str, Any]:
    return _npm(request).attestations(spec)


@router.post("/-/npm/v1/security/advisories/bulk",
             summary="npm audit: advisories affecting the given versions (gzip'ed JSON body)")
async def audit_bulk(request: Request) -> dict[str, Any]:
    body = await request.body()
    return await run_in_threadpool(_npm(request).audit, body,
                                   request.headers.get("content-encoding"), _base(request))


@router.put("/-/vouch/signature/{sha512}", status_code=201,
            summary="Stage a detached GPG signature for your next npm publish of a tarball")
async def stage_signature(sha512: str, request: Request,
                          principal: PrincipalDep) -> dict[str, Any]:
    body = await request.body()
    await run_in_threadpool(_npm(request).staged.put, principal, sha512.lower(), body)
    return {"ok": True, "sha512": sha512.lower()}


@router.put("/-/package/@{scope}/{name}/dist-tags/{tag}", summary="npm dist-tag add (scoped)")
async def scoped_add_dist_tag(scope: str, name: str, tag: str, request: Request,
                              principal: PrincipalDep) -> dict[str, Any]:
    return await _add_dist_tag(request, f"@{scope}/{name}", tag, principal)


@router.put("/-/package/{name}/dist-tags/{tag}", summary="npm dist-tag add")
async def add_dist_tag(name: str, tag: str, request: Request,
                       principal: PrincipalDep) -> dict[str, Any]:
    return await _add_dist_tag(request, name, tag, principal)


async def _add_dist_tag(request: Request, name: str, tag: str,
                        principal: Any) -> dict[str, Any]:
    version = version_of_body(await request.body())
    await run_in_threadpool(_npm(request).tags.add, principal, name, tag, version)
    return {"ok": True, "id": name, tag: version}


@router.delete("/-/package/@{scope}/{name}/dist-tags/{tag}", summary="npm dist-tag rm (scoped)")
def scoped_remove_dist_tag(scope: str, name: str, tag: str, request: Request,
                           principal: PrincipalDep) -> dict[str, Any]:
    _npm(request).tags.remove(principal, f"@{scope}/{name}", tag)
    return {"ok": True, "id": f"@{scope}/{name}"}


@router.delete("/-/package/{name}/dist-tags/{tag}", summary="npm dist-tag rm")
def remove_dist_tag(name: str, tag: str, request: Request,
                    principal: PrincipalDep) -> dict[str, Any]:
    _npm(request).tags.remove(principal, name, tag)
    return {"ok": True, "id": name}


@router.get("/-/package/@{scope}/{name}/dist-tags", summary="npm dist-tag ls (a scoped package)")
def scoped_dist_tags(scope: str, name: str, request: Request) -> dict[str, str]:
    return _npm(request).dist_tags(f"@{scope}/{name}")


@router.get("/-/package/{name}/dist-tags", summary="npm dist-tag ls")
def dist_tags(name: str, request: Request) -> dict[str, str]:
    return _npm(request).dist_tags(name)


# Longer paths first.
@router.delete("/@{scope}/{name}/-/{filename}/-rev/{rev}", summary="npm unpublish: the tarball")
def scoped_delete_tarball(scope: str, name: str, filename: str, rev: str, request: Request,
                          principal: PrincipalDep) -> dict[str, Any]:
    _npm(request).delete_tarball(f"@{scope}/{name}", filename, principal, _base(request))
    return {"ok": True}


@router.delete("/{name}/-/{filename}/-rev/{rev}", summary="npm unpublish: the tarball")
def delete_tarball(name: str, filename: str, rev: str, request: Request,
                   principal: PrincipalDep) -> dict[str, Any]:
    _npm(request).delete_tarball(name, filename, principal, _base(request))
    return {"ok": True}


@router.put("/@{scope}/{name}/-rev/{rev}", summary="npm unpublish NAME@VERSION: the change")
async def scoped_change(scope: str, name: str, rev: str, request: Request,
                        principal: PrincipalDep) -> dict[str, Any]:
    return await _publish(request, f"@{scope}/{name}", principal, rev)


@router.put("/{name}/-rev/{rev}", summary="npm unpublish NAME@VERSION: the change")
async def change(name: str, rev: str, request: Request,
                 principal: PrincipalDep) -> dict[str, Any]:
    return await _publish(request, name, principal, rev)


@router.delete("/@{scope}/{name}/-rev/{rev}", summary="npm unpublish (every version)")
def scoped_unpublish(scope: str, name: str, rev: str, request: Request,
                     principal: PrincipalDep) -> dict[str, Any]:
    _npm(request).unpublish_all(f"@{scope}/{name}", principal, _base(request))
    return {"ok": True}


@router.delete("/{name}/-rev/{rev}", summary="npm unpublish (every version)")
def unpublish(name: str, rev: str, request: Request, principal: PrincipalDep) -> dict[str, Any]:
    _npm(request).unpublish_all(name, principal, _base(request))
    return {"ok": True}

@router.get("/@{scope}/{name}/-/{filename}", response_class=Response,
            summary="A scoped package's tarball")
@router.head("/@{scope}/{name}/-/{filename}", response_class=Response,
             summary="A scoped package's tarball headers")
def scoped_tarball(scope: str, name: str, filename: str, request: Request,
                   registry: RegistryDep) -> Response:
    return _tarball(request, registry, f"@{scope}/{name}", filename)


@router.get("/{name}/-/{filename}", response_class=Response, summary="A package's tarball")
@router.head("/{name}/-/{filename}", response_class=Response,
             summary="A package's tarball headers")
def tarball(name: str, filename: str, request: Request, registry: RegistryDep) -> Response:
    return _tarball(request, registry, name, filename)


def _tarball(request: Request, registry: Any, name: str, filename: str) -> Response:
    try:
        artifact = _npm(request).tarball(name, filename)
    except PackageNotFound:  # not hosted: the upstream proxy, if configured (issue 17)
        answer = proxied_tarball(request, name, filename)
        if answer is None:
            raise
        return answer
    return _serve(registry, artifact, request)


@router.get("/@{scope}/{name}", summary="A scoped package's packument")
def scoped_packument(scope: str, name: str, request: Request) -> JSONResponse:
    return _packument(request, f"@{scope}/{name}")


@router.get("/{name}", summary="A package's packument (full, or abbreviated by Accept)")
def packument(name: str, request: Request) -> JSONResponse:
    return _packument(request, name)


@router.put("/@{scope}/{name}", status_code=201, summary="npm publish (a scoped package)")
async def publish_scoped(scope: str, name: str, request: Request,
                         principal: PrincipalDep) -> dict[str, Any]:
    return await _publish(request, f"@{scope}/{name}", principal)


@router.put("/{name}", status_code=201, summary="npm publish")
async def publish(name: str, request: Request, principal: PrincipalDep) -> dict[str, Any]:
    return await _publish(request, name, principal)


async def _publish(request: Request, name: str, principal: Any,
                   rev: str | None = None) -> dict[str, Any]:
    body = await request.body()
    published = await run_in_threadpool(_npm(request).put, body, name, principal,
                                        _base(request), rev)
    if published is None:  # a change: deprecate, undeprecate, unpublish of versions
        return {"ok": True, "id": name}
    return {"ok": True, "success": True, "id": name, "version": published.version.version}


def _packument(request: Request, name: str) -> JSONResponse:
    abbreviated = (request.query_params.get("write") != "true"
                   and wants_abbreviated(request.headers.get("accept", "")))
    try:
        doc = _npm(request).packument(name, abbreviated=abbreviated, base_url=_base(request))
    except PackageNotFound:  # not hosted: the upstream proxy, if configured (issue 17)
        answer = proxied_packument(request, name, abbreviated=abbreviated,
                                   base_url=_base(request))
        if answer is None:
            raise
        return answer
    media = ABBREVIATED_MEDIA_TYPE if abbreviated else "application/json"
    return JSONResponse(doc, media_type=media, headers={
        "Vary": "Accept", "Cache-Control": "max-age=0",
        HOSTED_HEADER.decode(): "1"})  # the packument cache keeps it (and removes this)


def _serve(registry: Any, artifact: Artifact, request: Request) -> Response:
    """The tarball with the headers, caching, redirects and counting of native downloads."""
    digest_b64 = base64.b64encode(bytes.fromhex(artifact.sha256)).decode()
    headers = {
        "ETag": f'"{artifact.sha256}"',
        "Repr-Digest": f"sha-256=:{digest_b64}:",
        "Cache-Control": _IMMUTABLE,
        "X-Checksum-Sha512": artifact.sha512,
        "Content-Disposition": f'attachment; filename="{artifact.filename}"',
    }
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    redirect = redirect_download(registry, artifact, headers, request.method)
    if redirect is not None:
        registry.downloads.hit(artifact.version_id, artifact.package)
        return redirect
    stream = registry.reads.open(artifact)  # gone bytes: 410 here, not a cut-off body later
    if request.method == "GET":
        registry.downloads.hit(artifact.version_id, artifact.package)
    accel = registry.settings.accel_redirect_prefix
    if accel:
        stream.close()
        headers["X-Accel-Redirect"] = accel.rstrip("/") + "/" + blob_key(artifact.sha256)
        return Response(status_code=200, headers=headers, media_type="application/octet-stream")
    remote = remote_blob_response(stream, headers=headers, filename=artifact.filename)
    if remote is not None:
        return remote
    return OpenBlobResponse(stream, headers=headers, filename=artifact.filename)
