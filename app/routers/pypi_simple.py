"""The Simple Repository API (read side) for Python packages: what pip and uv read.

    GET /simple/                     project list (HTML by default, JSON by Accept; Vary: Accept)
    GET /simple/<name>/              project page; unnormalised names get a 301
    GET /pypi/files/<name>/<version>/<filename>            the file (as native downloads)
    GET /pypi/files/<name>/<version>/<filename>.metadata   its core metadata (PEP 658)
    GET /integrity/<name>/<version>/<filename>/provenance  PEP 740 provenance object

Routes parse, call ``registry.pypi`` (``app.pypi.service.PythonIndexService``) and answer;
the documents are ``formats.pypi.index``.
"""

from __future__ import annotations

import base64
import hashlib
import io
from collections.abc import Iterator
from typing import BinaryIO

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse

from app.core.errors import NotFound, PackageNotFound
from app.deps import RegistryDep
from app.proxy.responses import proxied_file, proxied_page, proxied_provenance
from app.publishing.schemas import ProvenancePublic
from app.registry import Registry
from app.routers.packages import OpenBlobResponse
from app.storage import blob_key
from formats.errors import FormatError
from formats.pypi import index as documents
from formats.pypi.names import normalize

router = APIRouter(tags=["python"])

_IMMUTABLE = "public, max-age=31536000, immutable"
_INTEGRITY = "application/vnd.pypi.integrity.v1+json"


def _page(body: bytes, media: str, request: Request) -> Response:
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"Vary": "Accept", "ETag": etag, "Cache-Control": "max-age=0, must-revalidate"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=documents.content_type(media), headers=headers)


@router.get("/simple/", response_class=Response, summary="Simple API: every Python project")
def simple_index(request: Request, registry: RegistryDep) -> Response:
    media = documents.negotiate(request.headers.get("accept"))
    return _page(registry.pypi.project_list(media), media, request)


@router.get("/simple/{name}/", response_class=Response,
            summary="Simple API: a project's files (PEP 503 HTML / PEP 691 JSON by Accept)")
def simple_project(name: str, request: Request, registry: RegistryDep) -> Response:
    normalized = _normalized(name)
    if normalized != name:
        return RedirectResponse(f"/simple/{normalized}/", status_code=301,
                                headers={"Vary": "Accept"})
    media = documents.negotiate(request.headers.get("accept"))
    try:
        body = registry.pypi.project_page(name, media)
    except PackageNotFound:  # not hosted: the upstream proxy, if configured (issue 17)
        answer = proxied_page(request, name)
        if answer is None:
            raise
        return answer
    return _page(body, media, request)


@router.get("/simple/{name}", response_class=Response, include_in_schema=False)
def simple_project_no_slash(name: str) -> Response:
    return RedirectResponse(f"/simple/{_normalized(name)}/", status_code=301)


@router.get("/pypi/files/{name}/{version}/{filename}", response_class=Response,
            summary="A Python distribution file, or its core metadata (<file>.metadata)")
@router.head("/pypi/files/{name}/{version}/{filename}", response_class=Response,
             summary="A Python distribution file's headers")
def pypi_file(name: str, version: str, filename: str, request: Request,
              registry: RegistryDep) -> Response:
    try:
        return _hosted_file(name, version, filename, request, registry)
    except PackageNotFound:  # not hosted: the upstream proxy, if configured (issue 17)
        answer = proxied_file(request, name, version, filename)
        if answer is None:
            raise
        return answer


def _hosted_file(name: str, version: str, filename: str, request: Request,
                 registry: Registry) -> Response:
    if filename.endswith(".metadata"):
        raw = registry.pypi.core_metadata(name, version, filename[: -len(".metadata")])
        digest = hashlib.sha256(raw).hexdigest()
        return Response(raw, media_type="application/octet-stream",
                        headers=_digest_headers(digest, None, filename))
    served = registry.pypi.serve_file(name, version, filename,
                                      count=request.method == "GET",
                                      if_none_match=request.headers.get("if-none-match"))
    artifact, stream = served.artifact, served.stream
    headers = _digest_headers(artifact.sha256, artifact.sha512, artifact.filename)
    if stream is None:
        return Response(status_code=304, headers=headers)
    accel = registry.settings.accel_redirect_prefix
    if accel:
        stream.close()
        headers["X-Accel-Redirect"] = accel.rstrip("/") + "/" + blob_key(artifact.sha256)
        return Response(status_code=200, headers=headers, media_type="application/octet-stream")
    try:
        stream.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        headers["Content-Length"] = str(artifact.size)
        return StreamingResponse(_chunks(stream), media_type="application/octet-stream",
                                 headers=headers)
    return OpenBlobResponse(stream, headers=headers, filename=artifact.filename)


@router.get("/integrity/{name}/{version}/{filename}/provenance", response_class=Response,
            summary="PEP 740: the provenance object of a file uploaded with attestations")
def integrity_provenance(name: str, version: str, filename: str, request: Request,
                         registry: RegistryDep) -> Response:
    try:
        body = registry.pypi.provenance(name, version, filename)
    except PackageNotFound:  # not hosted: the upstream proxy, if configured (issue 17)
        answer = proxied_provenance(request, name, version, filename)
        if answer is None:
            raise
        return answer
    return Response(body, media_type=_INTEGRITY, headers={"Vary": "Accept"})


@router.get("/api/v1/pypi/{name}/{version}/files/{filename}/signature",
            response_model=ProvenancePublic,
            summary="The detached GPG signature a file was uploaded with, and the signer's key")
def file_signature(name: str, version: str, filename: str,
                   registry: RegistryDep) -> ProvenancePublic:
    return registry.pypi.signature(_normalized(name), version, filename)


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    with stream:
        yield from iter(lambda: stream.read(1024 * 1024), b"")


def _normalized(name: str) -> str:
    try:
        return normalize(name)
    except FormatError as err:
        raise NotFound(f"no project {name[:64]!r}") from err


def _digest_headers(sha256: str, sha512: str | None, filename: str) -> dict[str, str]:
    digest_b64 = base64.b64encode(bytes.fromhex(sha256)).decode()
    headers = {"ETag": f'"{sha256}"', "Repr-Digest": f"sha-256=:{digest_b64}:",
               "Cache-Control": _IMMUTABLE,
               "Content-Disposition": f'attachment; filename="{filename}"'}
    if sha512:
        headers["X-Checksum-Sha512"] = sha512
    return headers
