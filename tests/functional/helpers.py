"""Helpers for functional tests: publishing over real HTTP."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from typing import Any

import httpx
from sqlmodel import col, select

from app.core.db import session_scope
from app.core.models import Package, PackageOwner, User
from tests.support.server import RunningServer
from tests.support.signers import EVIDENCE_FIELDS, Signer


def publish(client: httpx.Client, name: str, version: str, data: bytes = b"artifact bytes",
            metadata: dict[str, Any] | None = None, *, signed: bool = True,
            **fields: Any) -> httpx.Response:
    """PUT ``data`` as ``name@version``, signed as the production default demands.

    The evidence comes from the signer of the user the client acts for (``Actors.client``:
    their GPG key, or a Sigstore bundle for ``signing="sigstore"`` users), unless the caller
    passes its own ``gpg_signature``/``sigstore_bundle`` field or ``signed=False`` (tests of
    the ``none`` policy and of refusals). A client with no signer (anonymous, a workflow's
    minted token, a plain ``httpx.Client``) uploads unsigned.
    """
    signer: Signer | None = getattr(client, "signer", None)
    if signed and signer is not None and not EVIDENCE_FIELDS & fields.keys():
        fields.update(signer.evidence(name, data))
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


def at_once(calls: dict[str, Callable[[], httpx.Response]], *,
            reverse: bool = False) -> dict[str, int]:
    """Run each call on a thread of its own, all released together by a barrier; the threads
    start in the given order (``reverse``: the other way round, so that each side of a race
    gets the head start in turn). Returns each call's status code by name."""
    results: dict[str, int] = {}
    barrier = threading.Barrier(len(calls))

    def go(who: str, call: Callable[[], httpx.Response]) -> None:
        barrier.wait()
        results[who] = call().status_code

    threads = [threading.Thread(target=go, args=item) for item in calls.items()]
    for thread in reversed(threads) if reverse else threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def package_owners(server: RunningServer, name: str) -> set[str]:
    """The names of the users listed as owners of the packages called ``name``."""
    with session_scope(server.registry.engine) as session:
        return set(session.exec(
            select(User.name).join(PackageOwner, col(PackageOwner.user_id) == col(User.id))
            .join(Package, col(Package.id) == col(PackageOwner.package_id))
            .where(Package.name == name)))
