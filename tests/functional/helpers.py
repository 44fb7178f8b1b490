"""Helpers for functional tests: publishing over real HTTP."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx


def publish(client: httpx.Client, name: str, version: str, data: bytes = b"artifact bytes",
            metadata: dict[str, Any] | None = None, **fields: Any) -> httpx.Response:
    form = {"metadata": json.dumps(metadata or {"description": f"{name} package"})}
    form.update({k: v for k, v in fields.items() if isinstance(v, str)})
    files = {"artifact": (f"{name.split('/')[-1]}-{version}.tgz", data,
                          "application/octet-stream")}
    files.update({k: v for k, v in fields.items() if not isinstance(v, str)})
    return client.put(f"/api/v1/packages/{name}/versions/{version}", data=form, files=files)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    return body
