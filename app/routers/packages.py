"""Native package API under ``/api/v1/packages``; ``{package}`` may be ``@scope/name``.

Routes open no session: reads call ``PackageReads`` (``registry.reads``,
``app/publishing/reads.py``), writes ``PublishService`` / ``LifecycleService`` and then read the
document they answer with. Routes with longer paths are registered first:
``{package:path}`` is greedy.
"""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, BinaryIO

import anyio
from fastapi import APIRouter, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from starlette.datastructures import UploadFile

from app.accounts.service import Principal
from app.core.errors import MalformedInput, PackageNotFound
from app.core.input_guards import check_json_bytes, reject_nul
from app.deps import OptionalPrincipalDep, PrincipalDep, RegistryDep
from app.proxy.responses import (
    proxied_artifact,
    proxied_native_provenance,
    proxied_package,
    proxied_version,
)
from app.publishing.publish import PublishRequest
from app.publishing.remote_downloads import redirect_download, remote_blob_response
from app.publishing.schemas import (
    DeprecationRequest,
    PackagePublic,
    ProvenancePublic,
    VersionPublic,
)
from app.registry import Registry
from app.storage import blob_key
from app.trust.evidence import Evidence

router = APIRouter(prefix="/api/v1/packages", tags=["packages"])

_IMMUTABLE = "public, max-age=31536000, immutable"


class OpenBlobResponse(FileResponse):
    """Streams a blob from a handle opened before the response started (issue 10: a blob
    unpublished mid-download must not cut the body short or turn into a 500). Starlette's
    FileResponse re-opens its path when it sends; this one serves the handle it was given,
    with Range support kept, and closes it when done. 4 MiB reads: 64 KiB (Starlette's
    default) makes big downloads CPU-bound."""

    chunk_size = 4 * 1024 * 1024

    def __init__(self, stream: BinaryIO, *, headers: dict[str, str], filename: str) -> None:
        self.stream = stream
        super().__init__(f"/dev/fd/{stream.fileno()}", headers=headers, filename=filename,
                         media_type="application/octet-stream",
                         stat_result=os.fstat(stream.fileno()))

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # No pathsend: the server would re-open a path that may be gone by then.
        extensions = {k: v for k, v in scope.get("extensions", {}).items()
                      if k != "http.response.pathsend"}
        try:
            await super().__call__({**scope, "extensions": extensions}, receive, send)
        finally:
            self.stream.close()

    @asynccontextmanager
    async def _open_file(self) -> AsyncIterator[Any]:
        yield anyio.wrap_file(self.stream)  # closed by __call__, after every range



async def _read_small(form: Any, field: str, limit: int, max_depth: int, *,
                      binary: bool = False) -> bytes | None:
    """Read a small form field; text fields get the JSON body checks (NUL, depth).

    ``binary`` fields (a binary OpenPGP signature holds NUL bytes by design) are only capped;
    their own parser rejects garbage. Raises ``MalformedInput`` over ``limit`` bytes.
    """
    value = form.get(field)
    if value is None:
        return None
    data = await value.read() if isinstance(value, UploadFile) else str(value).encode()
    if len(data) > limit:
        raise MalformedInput(f"{field} is larger than {limit} bytes")
    # The multipart body streams past app.core.limits; its small fields get the same checks here.
    if not binary:
        check_json_bytes(data, max_depth=max_depth, what=f"the {field} field")
    return data


# The form is read by hand (streamed, capped); documented here for clients and the fuzzer.
_PUBLISH_FORM = {"requestBody": {"required": True, "content": {"multipart/form-data": {
    "example": {"artifact": "left-pad 1.0.0", "metadata": '{"description": "pads strings"}'},
    "schema": {"type": "object", "required": ["artifact"], "additionalProperties": False,
               "properties": {
        "artifact": {"type": "string", "format": "binary"},
        "metadata": {"type": "string", "description": "JSON: description, license, keywords, "
                                                      "repository, dependencies"},
        "sha256": {"type": "string"},
        "sigstore_bundle": {"type": "string", "format": "binary"},
        "gpg_signature": {"type": "string", "format": "binary"}}}}}}}
_EXAMPLE_NAME: dict[str, Any] = {"plain": {"value": "left-pad"}}
_EXAMPLE_VERSION: dict[str, Any] = {"semver": {"value": "1.0.0"}}


@router.put("/{package:path}/versions/{version}", status_code=201,
            response_model=VersionPublic, openapi_extra=_PUBLISH_FORM,
            summary="Publish a version (multipart: metadata, artifact, sha256, signatures)")
async def publish_version(package: Annotated[str, Path(openapi_examples=_EXAMPLE_NAME)],
                          version: Annotated[str, Path(openapi_examples=_EXAMPLE_VERSION)],
                          request: Request,
                          registry: RegistryDep, principal: PrincipalDep) -> VersionPublic:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise MalformedInput("publish with multipart/form-data (fields metadata and artifact)")
    limit = registry.settings.max_metadata_bytes
    async with request.form(max_files=3, max_fields=8, max_part_size=limit) as form:
        artifact = form.get("artifact")
        if not isinstance(artifact, UploadFile):
            raise MalformedInput("the artifact part (a file) is missing")
        reject_nul("the artifact's filename", artifact.filename)
        depth = registry.settings.max_json_depth
        metadata = await _read_small(form, "metadata", limit, depth) or b"{}"
        sha256 = await _read_small(form, "sha256", 200, depth)
        evidence = Evidence(
            sigstore_bundle=await _read_small(form, "sigstore_bundle", 1024 * 1024, depth),
            gpg_signature=await _read_small(form, "gpg_signature", 64 * 1024, depth,
                                          binary=True),
        )
        publish_request = PublishRequest(
            name=package, version=version, metadata=metadata, artifact=artifact.file,
            filename=artifact.filename or "", evidence=evidence,
            declared_sha256=sha256.decode(errors="replace") if sha256 else None,
        )
        return await run_in_threadpool(_publish_and_answer, registry, publish_request,
                                       principal)


def _publish_and_answer(registry: Registry, request: PublishRequest,
                        principal: Principal) -> VersionPublic:
    """Publish, then the new version's document: one thread hop for both (issue 13)."""
    return registry.reads.published(registry.publish.publish(request, principal))


# GET and HEAD registered apart: one api_route gave both the same operationId (invalid
# OpenAPI, and a warning on every start).
@router.get("/{package:path}/versions/{version}/artifact", response_class=Response,
            summary="Download the artifact (immutable; Repr-Digest and ETag)")
@router.head("/{package:path}/versions/{version}/artifact", response_class=Response,
             summary="The artifact's headers (digests, ETag, size) without its bytes")
def download_artifact(package: str, version: str, request: Request,
                      registry: RegistryDep) -> Response:
    try:
        artifact = registry.reads.artifact(package, version)
    except PackageNotFound:  # not hosted: the upstream proxy, if configured (issue 17)
        answer = proxied_artifact(request, package, version)
        if answer is None:
            raise
        return answer
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
    redirect = redirect_download(registry, artifact, headers, request.method)  # issue 16
    if redirect is not None:
        registry.downloads.hit(artifact.version_id, package)
        return redirect
    # Opened before any header goes out: gone bytes are a 410 here, not a cut-off body later.
    stream = registry.reads.open(artifact)
    if request.method == "GET":
        registry.downloads.hit(artifact.version_id, package)
    accel = registry.settings.accel_redirect_prefix
    if accel:
        # The app decided (auth, unpublished, quarantine) and saw the bytes; the proxy in
        # front sends them. (A purge between this answer and the proxy's open is nginx's 404.)
        stream.close()
        headers["X-Accel-Redirect"] = accel.rstrip("/") + "/" + blob_key(artifact.sha256)
        return Response(status_code=200, headers=headers, media_type="application/octet-stream")
    remote = remote_blob_response(stream, headers=headers, filename=artifact.filename)
    if remote is not None:  # S3: streamed, ranges included (issue 16)
        return remote
    return OpenBlobResponse(stream, headers=headers, filename=artifact.filename)


@router.get("/{package:path}/versions/{version}/provenance", response_model=ProvenancePublic,
            summary="The signature evidence and what was verified at publish time")
def provenance(package: str, version: str, request: Request,
               registry: RegistryDep) -> Response | ProvenancePublic:
    try:
        return registry.reads.provenance(package, version)
    except PackageNotFound:  # not hosted: the upstream's, if configured (issue 17)
        answer = proxied_native_provenance(request, package, version)
        if answer is None:
            raise
        return answer


@router.put("/{package:path}/versions/{version}/deprecation", response_model=VersionPublic,
            summary="Deprecate a version (any time; the artifact stays available)")
def deprecate(package: str, version: str, body: DeprecationRequest, registry: RegistryDep,
              principal: PrincipalDep) -> VersionPublic:
    registry.lifecycle.set_deprecation(principal, package, version, body.message)
    return registry.reads.version(package, version)


@router.delete("/{package:path}/versions/{version}/deprecation",
               response_model=VersionPublic, summary="Undeprecate a version")
def undeprecate(package: str, version: str, registry: RegistryDep,
                principal: PrincipalDep) -> VersionPublic:
    registry.lifecycle.set_deprecation(principal, package, version, None)
    return registry.reads.version(package, version)


@router.delete("/{package:path}/versions/{version}", status_code=204,
               summary="Unpublish (only within the grace period; deprecate after it)")
def unpublish(package: str, version: str, registry: RegistryDep,
              principal: PrincipalDep) -> Response:
    registry.lifecycle.unpublish(principal, package, version)
    return Response(status_code=204)


@router.get("/{package:path}/versions/{version}", response_model=VersionPublic,
            summary="One version's document: metadata, digests, signer, markers")
def get_version(package: str, version: str, request: Request, registry: RegistryDep,
                _: OptionalPrincipalDep) -> Response | VersionPublic:
    try:
        return registry.reads.version(package, version)
    except PackageNotFound:  # not hosted: the upstream proxy, if configured (issue 17)
        answer = proxied_version(request, package, version)
        if answer is None:
            raise
        return answer


@router.get("/{package:path}", response_model=PackagePublic,
            summary="A package: every version with its markers, and the latest")
def get_package(package: str, request: Request, registry: RegistryDep,
                _: OptionalPrincipalDep) -> Response | PackagePublic:
    try:
        return registry.reads.package(package)
    except PackageNotFound:  # not hosted: the upstream proxy, if configured (issue 17)
        answer = proxied_package(request, package)
        if answer is None:
            raise
        return answer

