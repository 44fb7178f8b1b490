"""HTTP client for the Vouch native API.

    api = RegistryClient(config)
    api.version("left-pad", "1.0.0")      # the version document (dict)

Problem responses become ``ClientError`` carrying the problem's ``code``; connection failures
and 5xx become ``RegistryUnavailable``. Downloads are hashed while they stream and only
land in the cache once their digest matches.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from client.cache import Cache
from client.config import ClientConfig
from client.errors import ClientError, IntegrityError, RegistryUnavailable, UsageError

Progress = Callable[[int, int | None], None]


def package_path(name: str) -> str:
    """``@scope/name`` keeps its literal slash; everything else is percent-encoded."""
    return quote(name, safe="@/")


class RegistryClient:
    def __init__(self, config: ClientConfig, *, timeout: float = 60.0) -> None:
        self.config = config
        headers = {"User-Agent": "vouch-client/0.1"}
        if config.token:
            headers["Authorization"] = f"Bearer {config.token}"
        self.http = httpx.Client(base_url=config.registry, headers=headers, timeout=timeout)
        self.cache = Cache(config.cache_dir)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------
    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send one request; raise the ``ClientError`` its problem response maps to.

        A public read (GET/HEAD, or a batch query such as ``POST /api/v1/metadata``) refused
        with 401 ``invalid_token`` (a malformed, expired or revoked ``VOUCH_TOKEN``) is retried
        once without the token, with a warning that says how to fix the token; anything else
        refused with ``invalid_token`` says the same in its error.
        """
        try:
            response = self.http.request(method, url, **kwargs)
            if (response.status_code == 401 and _is_public_read(method, url)
                    and _problem_code(response) == "invalid_token" and self.config.token):
                self._drop_token()
                response = self.http.request(method, url, **kwargs)
        except httpx.HTTPError as err:
            raise RegistryUnavailable(
                f"cannot reach the registry at {self.config.registry}: {err}") from err
        check(response)
        return response

    def _drop_token(self) -> None:
        """Stop sending the refused token (warned once): public reads still work."""
        if "Authorization" not in self.http.headers:
            return
        del self.http.headers["Authorization"]
        from client import output

        output.warn(f"the registry refused VOUCH_TOKEN ({FIX_CREDENTIAL_ADVICE}); "
                    "continuing without it")

    def json(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self.request(method, url, **kwargs)
        return response.json() if response.content else None

    def require_token(self) -> None:
        if not self.config.token:
            raise UsageError("no token: set VOUCH_TOKEN or `token` in the config file")

    # -- packages ---------------------------------------------------------------------------
    def package(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self.json("GET", f"/api/v1/packages/{package_path(name)}")
        return result

    def version(self, name: str, version: str) -> dict[str, Any]:
        result: dict[str, Any] = self.json(
            "GET", f"/api/v1/packages/{package_path(name)}/versions/{quote(version)}")
        return result

    def publish(self, name: str, version: str, artifact: Path, metadata: dict[str, Any],
                *, sha256: str | None = None, bundle: bytes | None = None,
                gpg_signature: bytes | None = None,
                progress: Progress | None = None) -> dict[str, Any]:
        self.require_token()
        data: dict[str, str] = {"metadata": json.dumps(metadata)}
        if sha256:
            data["sha256"] = sha256
        files: dict[str, Any] = {}
        if bundle is not None:
            files["sigstore_bundle"] = ("bundle.sigstore.json", bundle, "application/json")
        if gpg_signature is not None:
            files["gpg_signature"] = ("artifact.sig", gpg_signature, "application/octet-stream")
        with artifact.open("rb") as raw:
            stream = _Reporting(raw, artifact.stat().st_size, progress)
            files["artifact"] = (artifact.name, stream, "application/octet-stream")
            result: dict[str, Any] = self.json(
                "PUT", f"/api/v1/packages/{package_path(name)}/versions/{quote(version)}",
                data=data, files=files)
        return result

    def unpublish(self, name: str, version: str) -> None:
        self.require_token()
        self.request("DELETE",
                     f"/api/v1/packages/{package_path(name)}/versions/{quote(version)}")

    def deprecate(self, name: str, version: str, message: str | None) -> dict[str, Any]:
        self.require_token()
        url = f"/api/v1/packages/{package_path(name)}/versions/{quote(version)}/deprecation"
        if message is None:
            result: dict[str, Any] = self.json("DELETE", url)
        else:
            result = self.json("PUT", url, json={"message": message})
        return result

    def audit_events(self, **filters: Any) -> list[dict[str, Any]]:
        params = {k: v for k, v in filters.items() if v is not None}
        result: list[dict[str, Any]] = self.json("GET", "/api/v1/audit-events", params=params)
        return result

    # -- artifacts --------------------------------------------------------------------------
    def fetch_artifact(self, url: str, sha256: str, sha512: str | None = None,
                       progress: Progress | None = None) -> Path:
        """Return a cached, verified copy of the artifact at ``url`` (downloading if needed).

        Raises ``IntegrityError`` when the bytes do not hash to ``sha256`` (and ``sha512``).
        """
        cached = self.cache.artifact_path(sha256)
        if cached is not None:
            return cached
        staged = self.cache.new_temp()
        try:
            # Redirects followed (issue 16: a registry in redirect mode answers 307 to a
            # presigned S3 URL; httpx drops the token for another origin). The bytes are
            # hashed below whoever served them.
            with self.http.stream("GET", url, follow_redirects=True) as response:
                if (response.status_code == 401 and self.config.token
                        and _problem_code(response) == "invalid_token"):
                    self._drop_token()
                    staged.unlink(missing_ok=True)
                    return self.fetch_artifact(url, sha256, sha512, progress)
                check(response, streaming=True)
                total = int(response.headers.get("content-length") or 0) or None
                done = 0
                with staged.open("wb") as out:
                    for chunk in response.iter_bytes(1024 * 1024):
                        out.write(chunk)
                        done += len(chunk)
                        if progress:
                            progress(done, total)
        except httpx.HTTPError as err:
            staged.unlink(missing_ok=True)
            raise RegistryUnavailable(f"download of {url} failed: {err}") from err
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
        return self.cache.store_artifact(sha256, staged, sha512)


class _Reporting:
    """A binary file that reports how much of it was read (the upload's progress)."""

    def __init__(self, raw: Any, total: int, progress: Progress | None) -> None:
        self.raw, self.total, self.progress, self.done = raw, total, progress, 0

    def read(self, size: int = -1) -> bytes:
        chunk: bytes = self.raw.read(size)
        self.done += len(chunk)
        if self.progress:
            self.progress(self.done, self.total)
        return chunk

    def seek(self, offset: int, whence: int = 0) -> int:
        position: int = self.raw.seek(offset, whence)
        self.done = position
        return position

    def tell(self) -> int:
        position: int = self.raw.tell()
        return position

    def fileno(self) -> int:
        number: int = self.raw.fileno()
        return number


FIX_CREDENTIAL_ADVICE = (
    "the token is invalid, expired or revoked: unset VOUCH_TOKEN (or the `token` in the "
    "config file), or create a new one with `vouch admin create-token USER`")


PUBLIC_QUERIES = ("/api/v1/metadata", "/v1/query", "/v1/querybatch")


def _is_public_read(method: str, url: str) -> bool:
    return method in ("GET", "HEAD") or (method == "POST" and url in PUBLIC_QUERIES)


def _problem_code(response: httpx.Response) -> str | None:
    try:
        response.read()
        body = response.json()
    except ValueError:
        return None
    code = body.get("code") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


def problem_message(status: int, problem: dict[str, Any], fallback: str) -> str:
    """``STATUS CODE: detail`` plus each validation error (``limit: must be <= 1000``)."""
    code = problem.get("code")
    detail = str(problem.get("detail") or fallback)
    message = f"{status} {code}: {detail}" if code else f"{status}: {detail}"
    for error in problem.get("errors") or []:
        if isinstance(error, dict):
            loc = [str(p) for p in error.get("loc") or [] if str(p) not in
                   ("query", "body", "path", "header")]
            where = ".".join(loc)
            message += f"\n  {where + ': ' if where else ''}{error.get('msg', '')}"
    if code == "invalid_token":
        message += f"\n  {FIX_CREDENTIAL_ADVICE}"
    return message


def check(response: httpx.Response, *, streaming: bool = False) -> None:
    """Raise the right ``ClientError`` for a non-2xx response."""
    if response.status_code < 400:
        return
    if streaming:
        response.read()
    problem: dict[str, Any] = {}
    try:
        body = response.json()
        if isinstance(body, dict):
            problem = body
    except ValueError:
        pass
    message = problem_message(response.status_code, problem,
                              response.text[:200] or response.reason_phrase)
    code = problem.get("code")
    if response.status_code >= 500:
        raise RegistryUnavailable(message, code=code, problem=problem)
    raise ClientError(message, code=code, problem=problem)


__all__ = ["ClientError", "IntegrityError", "RegistryClient", "check", "package_path"]
