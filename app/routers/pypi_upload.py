"""The legacy upload API (``POST /legacy/``) for twine and ``uv publish``, and the lifecycle of
Python releases (unpublish, yank) over the native JSON conventions.

    twine upload --repository-url http://HOST/legacy/ -u __token__ -p "$VOUCH_TOKEN" dist/*

Authentication: HTTP Basic with the user name ``__token__`` and a Vouch API token as the
password (a ``Bearer`` token works too). Errors are problem+json, as everywhere; the status
line carries the detail as its reason phrase under `vouch serve` (twine prints only that; uv
reads the body). An identical re-upload answers 200.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse
from starlette.datastructures import UploadFile

from app.accounts.service import Principal
from app.accounts.token_gate import STATE_KEY
from app.core.errors import DomainError, Forbidden, MalformedInput, NotAuthenticated
from app.core.input_guards import reject_nul
from app.core.problems import domain_problem
from app.core.reason_phrase import REASON_HEADER, reason_value
from app.deps import PrincipalDep, RegistryDep
from app.publishing.schemas import DeprecationRequest
from app.pypi.upload import UploadForm
from app.registry import Registry

router = APIRouter(tags=["python"])

_TEXT_FIELDS = (":action", "protocol_version", "name", "version", "filetype", "sha256_digest",
                "md5_digest", "blake2_256_digest")
_UPLOAD_FORM = {"requestBody": {"required": True, "content": {"multipart/form-data": {
    "schema": {"type": "object", "required": ["content", ":action", "protocol_version"],
               "properties": {
        ":action": {"type": "string", "enum": ["file_upload"]},
        "protocol_version": {"type": "string", "enum": ["1"]},
        "content": {"type": "string", "format": "binary"},
        "name": {"type": "string"}, "version": {"type": "string"},
        "filetype": {"type": "string", "enum": ["bdist_wheel", "sdist"]},
        "sha256_digest": {"type": "string"},
        "gpg_signature": {"type": "string", "format": "binary"},
        "attestations": {"type": "string"}}}}}}}


async def upload_principal(request: Request, registry: Registry) -> Principal:
    """Basic ``__token__:<token>`` (what twine and uv send) or a Bearer token."""
    checked = request.scope.get("state", {}).get(STATE_KEY)
    if isinstance(checked, Principal):  # a Bearer token, looked up by the TokenGate
        return checked
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        raise NotAuthenticated("upload with HTTP Basic: user __token__, password a Vouch API "
                               "token")
    try:
        user, _, secret = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as err:
        raise NotAuthenticated("the Basic credentials cannot be decoded") from err
    if user != "__token__":
        raise Forbidden("Username/Password authentication is not supported: use the user "
                        "name __token__ and a Vouch API token as the password")

    return await run_in_threadpool(registry.pypi_uploads.authenticate, secret)


@router.post("/legacy/", response_class=PlainTextResponse, openapi_extra=_UPLOAD_FORM,
             summary="Upload a wheel or sdist (the legacy upload API twine and uv use)")
async def legacy_upload(request: Request, registry: RegistryDep) -> Response:
    """Errors are problem+json as everywhere, with the detail also as the status line's
    reason phrase under `vouch serve` (twine prints only that; see app.core.reason_phrase)."""
    try:
        return await _upload(request, registry)
    except DomainError as err:
        response = domain_problem(err)
        response.headers[REASON_HEADER.decode()] = reason_value(err.detail)
        return response


async def _upload(request: Request, registry: Registry) -> PlainTextResponse:
    principal = await upload_principal(request, registry)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise MalformedInput("upload with multipart/form-data")
    limit = registry.settings.max_metadata_bytes
    async with request.form(max_files=4, max_fields=200, max_part_size=limit) as form:
        content = form.get("content")
        if not isinstance(content, UploadFile):
            raise MalformedInput("the content part (the distribution file) is missing")
        filename = content.filename or ""
        reject_nul("the content's filename", filename)
        fields = {key: _text(form, key) for key in _TEXT_FIELDS}
        upload = UploadForm(
            content=content.file, filename=filename, action=fields[":action"],
            protocol_version=fields["protocol_version"], name=fields["name"],
            version=fields["version"], filetype=fields["filetype"],
            sha256_digest=fields["sha256_digest"], md5_digest=fields["md5_digest"],
            blake2_256_digest=fields["blake2_256_digest"],
            gpg_signature=await _small_file(form, "gpg_signature", 64 * 1024),
            attestations=await _small_file(form, "attestations", 1024 * 1024))
        outcome = await run_in_threadpool(registry.pypi_uploads.upload, upload, principal)
    if outcome.published is None:
        return PlainTextResponse(f"{outcome.filename} was already uploaded with these bytes "
                                 "(nothing changed)\n")
    return PlainTextResponse(f"uploaded {outcome.filename}\n")


@router.post("/legacy", response_class=PlainTextResponse, include_in_schema=False)
async def legacy_upload_no_slash(request: Request, registry: RegistryDep) -> Response:
    """twine and uv refuse redirects: the same upload without the trailing slash."""
    return await legacy_upload(request, registry)


def _text(form: Any, key: str) -> str | None:
    value = form.get(key)
    if value is None or isinstance(value, UploadFile):
        return None
    text = str(value)
    reject_nul(f"the {key} field", text)
    if len(text) > 1024:
        raise MalformedInput(f"the {key} field is longer than 1024 characters")
    return text


async def _small_file(form: Any, key: str, limit: int) -> bytes | None:
    value = form.get(key)
    if value is None:
        return None
    data = await value.read() if isinstance(value, UploadFile) else str(value).encode()
    if len(data) > limit:
        raise MalformedInput(f"the {key} part is larger than {limit} bytes")
    return data or None


# -- lifecycle: the native rules (24 h unpublish, deprecate = yank) on Python releases --------
@router.delete("/api/v1/pypi/{name}/{version}", status_code=204,
               summary="Unpublish a Python release (only within the grace period)")
def unpublish_release(name: str, version: str, registry: RegistryDep,
                      principal: PrincipalDep) -> Response:
    registry.pypi_uploads.unpublish(principal, name, version)
    return Response(status_code=204)


@router.put("/api/v1/pypi/{name}/{version}/deprecation", status_code=204,
            summary="Yank a Python release (PEP 592): deprecate it with a reason")
def yank_release(name: str, version: str, body: Annotated[DeprecationRequest, Body()],
                 registry: RegistryDep, principal: PrincipalDep) -> Response:
    registry.pypi_uploads.set_yank(principal, name, version, body.message)
    return Response(status_code=204)


@router.delete("/api/v1/pypi/{name}/{version}/deprecation", status_code=204,
               summary="Un-yank a Python release")
def unyank_release(name: str, version: str, registry: RegistryDep,
                   principal: PrincipalDep) -> Response:
    registry.pypi_uploads.set_yank(principal, name, version, None)
    return Response(status_code=204)
