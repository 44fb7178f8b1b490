"""What the Simple API and npm routes answer for a name Vouch does not host (their hooks).

    answer = proxied_page(request, name)                       # None: no pypi upstream
    answer = proxied_file(request, name, version, filename)    # None: no pypi upstream
    answer = proxied_provenance(request, name, version, filename)  # PEP 740, verified
    answer = proxied_packument(request, name, abbreviated=..., base_url=...)  # npm
    answer = proxied_tarball(request, name, filename)          # None: no npm upstream
    answer = proxied_package(request, name)                    # native: None, no vouch upstream
    answer = proxied_version(request, name, version)
    answer = proxied_artifact(request, name, version)
    answer = proxied_native_provenance(request, name, version)  # the upstream's, as it is
    batch = proxied_metadata(request, response, batch)   # + upstream names not local

Pages carry ``X-Vouch-Upstream: <name>``; a stale page (the upstream is failing) also
``Warning: 110 - "Response is Stale"``. Unsigned upstream files carry
``Warning: 199 - "unsigned upstream version"``. Every GET of a file counts as a download.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

from fastapi import Request, Response
from starlette.responses import JSONResponse, StreamingResponse

from app.proxy.base import CachedFile, UpstreamProxy
from app.proxy.service import Proxies
from app.publishing.schemas import BatchMetadata
from formats.npm.packument import ABBREVIATED_MEDIA_TYPE
from formats.pypi import index as documents

_IMMUTABLE = "public, max-age=31536000, immutable"


def proxied_page(request: Request, name: str) -> Response | None:
    proxy = Proxies.of(request.app).pypi
    if proxy is None:
        return None
    page, stale = proxy.project_page(name)
    media = documents.negotiate(request.headers.get("accept"))
    body = documents.project_page(page, media)
    headers = {"Vary": "Accept", "Cache-Control": "max-age=0, must-revalidate",
               "X-Vouch-Upstream": proxy.upstream.name}
    if stale:
        headers["Warning"] = '110 - "Response is Stale"'
    return Response(body, media_type=documents.content_type(media), headers=headers)


def proxied_file(request: Request, name: str, version: str, filename: str) -> Response | None:
    proxy = Proxies.of(request.app).pypi
    if proxy is None:
        return None
    cached = proxy.file(name, version, filename)
    return _serve(request, proxy, name, cached)


def proxied_package(request: Request, name: str) -> JSONResponse | None:
    proxy = Proxies.of(request.app).vouch
    if proxy is None:
        return None
    doc, stale = proxy.package(name)
    return _document(proxy, doc.model_dump(mode="json"), stale)


def proxied_version(request: Request, name: str, version: str) -> JSONResponse | None:
    proxy = Proxies.of(request.app).vouch
    if proxy is None:
        return None
    doc, stale = proxy.version(name, version)
    return _document(proxy, doc.model_dump(mode="json"), stale)


def proxied_artifact(request: Request, name: str, version: str) -> Response | None:
    proxy = Proxies.of(request.app).vouch
    if proxy is None:
        return None
    return _serve(request, proxy, name, proxy.artifact(name, version))


def proxied_native_provenance(request: Request, name: str,
                              version: str) -> JSONResponse | None:
    proxy = Proxies.of(request.app).vouch
    if proxy is None:
        return None
    doc, stale = proxy.provenance(name, version)
    return _document(proxy, doc, stale)


def proxied_metadata(request: Request, response: Response, batch: BatchMetadata) -> BatchMetadata:
    """``batch`` with the upstream's entries of its ``missing`` names (those this registry
    neither hosts nor reserves); unchanged without a ``vouch`` upstream."""
    proxy = Proxies.of(request.app).vouch
    if proxy is None or not batch.missing:
        return batch
    found, stale = proxy.metadata(batch.missing)
    if found:
        response.headers["X-Vouch-Upstream"] = proxy.upstream.name
    if stale:
        response.headers["Warning"] = '110 - "Response is Stale"'
    return BatchMetadata(packages={**batch.packages, **found},
                         missing=[n for n in batch.missing if n not in found])


def _document(proxy: UpstreamProxy, doc: dict[str, object], stale: bool) -> JSONResponse:
    headers = {"Cache-Control": "max-age=0", "X-Vouch-Upstream": proxy.upstream.name}
    if stale:
        headers["Warning"] = '110 - "Response is Stale"'
    return JSONResponse(doc, headers=headers)


def proxied_provenance(request: Request, name: str, version: str,
                       filename: str) -> Response | None:
    proxy = Proxies.of(request.app).pypi
    if proxy is None:
        return None
    body = proxy.provenance(name, version, filename)
    return Response(body, media_type="application/vnd.pypi.integrity.v1+json",
                    headers={"Vary": "Accept", "X-Vouch-Upstream": proxy.upstream.name})


def _serve(request: Request, proxy: UpstreamProxy, name: str, cached: CachedFile) -> Response:
    """The cached bytes with the immutable download headers; a GET counts as a download."""
    filename = cached.filename
    digest_b64 = base64.b64encode(bytes.fromhex(cached.sha256)).decode()
    headers = {"ETag": f'"{cached.sha256}"', "Repr-Digest": f"sha-256=:{digest_b64}:",
               "X-Checksum-Sha512": cached.sha512,
               "Cache-Control": _IMMUTABLE, "X-Vouch-Upstream": proxy.upstream.name,
               "Content-Length": str(cached.size)}
    if not filename.endswith(".metadata"):
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    if not cached.signed:
        headers["Warning"] = '199 - "unsigned upstream version"'
    if request.method != "GET":
        return Response(status_code=200, headers=headers, media_type="application/octet-stream")
    stream = proxy.registry.blobs.open(cached.sha256)
    proxy.count_download(name, filename)

    def chunks() -> Iterator[bytes]:
        with stream:
            yield from iter(lambda: stream.read(1024 * 1024), b"")
    return StreamingResponse(chunks(), media_type="application/octet-stream", headers=headers)


def proxied_packument(request: Request, name: str, *, abbreviated: bool,
                      base_url: str) -> JSONResponse | None:
    proxy = Proxies.of(request.app).npm
    if proxy is None:
        return None
    doc, stale = proxy.packument(name, abbreviated=abbreviated, base_url=base_url)
    headers = {"Vary": "Accept", "Cache-Control": "max-age=0",
               "X-Vouch-Upstream": proxy.upstream.name}
    if stale:
        headers["Warning"] = '110 - "Response is Stale"'
    return JSONResponse(doc, media_type=(ABBREVIATED_MEDIA_TYPE if abbreviated
                                         else "application/json"), headers=headers)


def proxied_tarball(request: Request, name: str, filename: str) -> Response | None:
    proxy = Proxies.of(request.app).npm
    if proxy is None:
        return None
    cached = proxy.tarball(name, filename)
    return _serve(request, proxy, name, cached)
