"""HTTP to one upstream: bounded, with its timeout and credentials, errors as domain errors.

    with Upstreams(upstream) as http:
        answer = http.get(url, accept=...)          # Answer(status, content_type, body)
        digest = http.download(url, path, max_bytes)

Connection failures, 5xx answers and oversize bodies raise ``UpstreamUnavailable`` (502); a
timeout ``UpstreamTimeout`` (504). The credential (``token_env``) goes in the Authorization
header only to the upstream's own host, and is never logged or put into an error.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from app.proxy.config import credential
from app.proxy.errors import UpstreamTimeout, UpstreamUnavailable
from formats.upstreams import Upstream

log = logging.getLogger("vouch.proxy")
MAX_PAGE_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class Downloaded:
    sha256: str
    sha512: str
    size: int


class UpstreamHttp:
    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        self._host = urlsplit(upstream.url).netloc
        import httpx  # only with an upstream configured (issue 13: idle memory)

        self._client = httpx.Client(timeout=upstream.timeout, follow_redirects=True,
                                    trust_env=False)

    def close(self) -> None:
        self._client.close()

    def _headers(self, url: str, accept: str | None) -> dict[str, str]:
        headers = {"User-Agent": "vouch-proxy"}
        if accept:
            headers["Accept"] = accept
        secret = credential(self.upstream)
        if secret and urlsplit(url).netloc == self._host:
            if self.upstream.format == "pypi":
                basic = base64.b64encode(f"__token__:{secret}".encode()).decode()
                headers["Authorization"] = f"Basic {basic}"
            else:
                headers["Authorization"] = f"Bearer {secret}"
        return headers

    def get(self, url: str, *, accept: str | None = None) -> Answer:
        """A small document (a page, a packument); 404 and other 4xx are returned, 5xx and
        failures raised."""
        return self._small("GET", url, accept, None)

    def post_json(self, url: str, body: object) -> Answer:
        """``get`` for a JSON query (another Vouch's ``POST /api/v1/metadata``)."""
        return self._small("POST", url, "application/json", body)

    def _small(self, method: str, url: str, accept: str | None, body: object) -> Answer:
        import httpx  # loaded by __init__

        try:
            with self._client.stream(method, url, headers=self._headers(url, accept),
                                     json=body) as answer:
                body = bytearray()
                for chunk in answer.iter_bytes():
                    body += chunk
                    if len(body) > MAX_PAGE_BYTES:
                        raise self._unavailable(url, "the document is too large")
        except httpx.TimeoutException as err:
            raise self._timeout(url) from err
        except httpx.HTTPError as err:
            raise self._unavailable(url, err.__class__.__name__) from err
        if answer.status_code >= 500:
            raise self._unavailable(url, f"HTTP {answer.status_code}")
        return Answer(answer.status_code, answer.headers.get("content-type", ""), bytes(body))

    def download(self, url: str, target: Path, max_bytes: int) -> Downloaded:
        """Stream ``url`` into ``target`` while hashing it; raises for any non-200."""
        import httpx  # loaded by __init__

        sha256, sha512, size = hashlib.sha256(), hashlib.sha512(), 0
        try:
            with self._client.stream("GET", url, headers=self._headers(url, None)) as answer, \
                    target.open("wb") as out:
                if answer.status_code != 200:
                    raise self._unavailable(url, f"HTTP {answer.status_code}")
                for chunk in answer.iter_bytes(1024 * 1024):
                    size += len(chunk)
                    if size > max_bytes:
                        raise self._unavailable(url, f"the file exceeds {max_bytes} bytes")
                    sha256.update(chunk)
                    sha512.update(chunk)
                    out.write(chunk)
        except httpx.TimeoutException as err:
            raise self._timeout(url) from err
        except httpx.HTTPError as err:
            raise self._unavailable(url, err.__class__.__name__) from err
        return Downloaded(sha256.hexdigest(), sha512.hexdigest(), size)

    def _unavailable(self, url: str, why: str) -> UpstreamUnavailable:
        log.warning("upstream %s: %s for %s", self.upstream.name, why, _path(url))
        return UpstreamUnavailable(f"upstream {self.upstream.name!r} cannot answer ({why})",
                                   upstream=self.upstream.name)

    def _timeout(self, url: str) -> UpstreamTimeout:
        log.warning("upstream %s: timed out after %ss for %s", self.upstream.name,
                    self.upstream.timeout, _path(url))
        return UpstreamTimeout(f"upstream {self.upstream.name!r} did not answer within "
                               f"{self.upstream.timeout:g}s", upstream=self.upstream.name)


def _path(url: str) -> str:
    """The URL without userinfo or query (never logged: they may hold credentials)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}" \
        f"{parts.path}"
