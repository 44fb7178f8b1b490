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
        try:
            response = self.http.request(method, url, **kwargs)
        except httpx.HTTPError as err:
            raise RegistryUnavailable(
                f"cannot reach the registry at {self.config.registry}: {err}") from err
        check(response)
        return response

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
                gpg_signature: bytes | None = None) -> dict[str, Any]:
        self.require_token()
        data: dict[str, str] = {"metadata": json.dumps(metadata)}
        if sha256:
            data["sha256"] = sha256
        files: dict[str, Any] = {}
        if bundle is not None:
            files["sigstore_bundle"] = ("bundle.sigstore.json", bundle, "application/json")
        if gpg_signature is not None:
            files["gpg_signature"] = ("artifact.sig", gpg_signature, "application/octet-stream")
        with artifact.open("rb") as stream:
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
            with self.http.stream("GET", url) as response:
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
    detail = problem.get("detail") or response.text[:200] or response.reason_phrase
    code = problem.get("code")
    message = f"{response.status_code} {code or ''}: {detail}".replace("  ", " ")
    if response.status_code >= 500:
        raise RegistryUnavailable(message, code=code, problem=problem)
    raise ClientError(message, code=code, problem=problem)


__all__ = ["ClientError", "IntegrityError", "RegistryClient", "check", "package_path"]
