"""A fake Rekor v1 API (httpx.MockTransport) that serves entries taken from real bundles."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

import httpx


def entry_from_bundle(raw: bytes) -> tuple[str, dict[str, Any]]:
    """(uuid, Rekor v1 entry JSON) equivalent to the log entry inside a bundle."""
    tlog = json.loads(raw)["verificationMaterial"]["tlogEntries"][0]
    body = tlog["canonicalizedBody"]
    proof = tlog["inclusionProof"]
    uuid = hashlib.sha256(b"\x00" + base64.b64decode(body)).hexdigest()
    return uuid, {
        "body": body,
        "integratedTime": int(tlog["integratedTime"]),
        "logID": base64.b64decode(tlog["logId"]["keyId"]).hex(),
        "logIndex": int(tlog["logIndex"]),
        "verification": {
            "inclusionProof": {
                "checkpoint": proof["checkpoint"]["envelope"],
                "hashes": [base64.b64decode(h).hex() for h in proof["hashes"]],
                "logIndex": int(proof["logIndex"]),
                "rootHash": base64.b64decode(proof["rootHash"]).hex(),
                "treeSize": int(proof["treeSize"]),
            },
            "signedEntryTimestamp": tlog["inclusionPromise"]["signedEntryTimestamp"],
        },
    }


class FakeRekor:
    """Entries by uuid; an index from sha256 to uuids; records every request."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}
        self.index: dict[str, list[str]] = {}
        self.requests: list[httpx.Request] = []
        self.fail: Callable[[httpx.Request], httpx.Response | None] | None = None

    def add(self, uuid: str, entry: dict[str, Any], sha256: str | None = None) -> None:
        self.entries[uuid] = entry
        if sha256:
            self.index.setdefault(sha256, []).append(uuid)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.fail is not None and (answer := self.fail(request)) is not None:
            return answer
        path = request.url.path
        if request.method == "GET" and path == "/api/v1/log/entries":
            wanted = int(request.url.params["logIndex"])
            for uuid, entry in self.entries.items():
                if entry["logIndex"] == wanted:
                    return httpx.Response(200, json={uuid: entry})
            return httpx.Response(404, json={"message": "not found"})
        if request.method == "GET" and path.startswith("/api/v1/log/entries/"):
            uuid = path.rsplit("/", 1)[1]
            if uuid in self.entries:
                return httpx.Response(200, json={uuid: self.entries[uuid]})
            return httpx.Response(404, json={"message": "not found"})
        if request.method == "POST" and path == "/api/v1/index/retrieve":
            digest = json.loads(request.content)["hash"].removeprefix("sha256:")
            return httpx.Response(200, json=self.index.get(digest, []))
        return httpx.Response(400, json={"message": "unsupported"})
