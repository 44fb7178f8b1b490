"""The Rekor v1 HTTP API over a `TransparencyLog`, on 127.0.0.1, in a background thread.

Example::

    with RekorServer(log) as server:          # or: url = server.start(); ...; server.stop()
        httpx.get(f"{server.url}/api/v1/log").json()["treeSize"]

Endpoints (Rekor v1 shapes; errors are ``{"code": <http status>, "message": ...}``):

* ``GET  /api/v1/log`` - tree size, root hash, signed tree head, tree id
* ``GET  /api/v1/log/publicKey`` - the log key, PEM
* ``GET  /api/v1/log/proof?firstSize=&lastSize=`` - consistency proof
* ``GET  /api/v1/log/entries/{uuid or entry id}`` - 404 when unknown
* ``GET  /api/v1/log/entries?logIndex=N`` - 404 when out of range
* ``POST /api/v1/log/entries`` - add a hashedrekord/dsse 0.0.1 entry: 201 + Location, 400 if
  Rekor would refuse it, 409 if already logged
* ``POST /api/v1/log/entries/retrieve`` - ``{"entryUUIDs": [...]}`` or ``{"logIndexes": [...]}``
* ``POST /api/v1/index/retrieve`` - ``{"hash": "sha256:<hex>"}`` -> list of entry ids

Proofs in GET responses are against the current tree, as real Rekor serves them.
"""

from __future__ import annotations

import json
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .entries import EntryRejected, prepare_entry
from .tlog import DuplicateEntry, TransparencyLog

_MAX_BODY = 8 * 1024 * 1024
_HEX = set("0123456789abcdef")


class _HttpError(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _normalise_hash(value: Any) -> str:
    if not isinstance(value, str):
        raise _HttpError(HTTPStatus.BAD_REQUEST, "hash must be a string")
    text = value.lower()
    algo, sep, digest = text.partition(":")
    if not sep:
        algo, digest = "sha256", text
    if algo != "sha256" or len(digest) != 64 or not set(digest) <= _HEX:
        raise _HttpError(HTTPStatus.BAD_REQUEST, "hash must be sha256:<64 hex digits>")
    return f"sha256:{digest}"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    # -- plumbing ---------------------------------------------------------------------------
    def _send(self, status: HTTPStatus, payload: Any, headers: dict[str, str] | None = None,
              content_type: str = "application/json") -> None:
        body = (json.dumps(payload) if content_type == "application/json" else payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            raise _HttpError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "request body too large")
        try:
            return json.loads(self.rfile.read(length) or b"null")
        except ValueError as err:
            raise _HttpError(HTTPStatus.BAD_REQUEST, f"invalid JSON: {err}") from err

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        try:
            status, payload, headers, ctype = self._route(method, url.path.rstrip("/"),
                                                           parse_qs(url.query))
        except _HttpError as err:
            status, payload, headers, ctype = (
                err.status, {"code": int(err.status), "message": err.message}, None,
                "application/json",
            )
        self._send(status, payload, headers, ctype)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    # -- routes -----------------------------------------------------------------------------
    def _route(
        self, method: str, path: str, query: dict[str, list[str]]
    ) -> tuple[HTTPStatus, Any, dict[str, str] | None, str]:
        log = self.server.log
        ok = HTTPStatus.OK
        if method == "GET" and path == "/api/v1/log":
            return ok, log.log_info(), None, "application/json"
        if method == "GET" and path == "/api/v1/log/publicKey":
            return ok, log.public_key_pem(), None, "application/x-pem-file"
        if method == "GET" and path == "/api/v1/log/proof":
            return ok, self._consistency(query), None, "application/json"
        if method == "GET" and path == "/api/v1/log/entries":
            return ok, self._by_index(query), None, "application/json"
        if method == "GET" and path.startswith("/api/v1/log/entries/"):
            entry = log.get_by_uuid(path.rsplit("/", 1)[1])
            if entry is None:
                raise _HttpError(HTTPStatus.NOT_FOUND, "entry not found")
            return ok, log.rekor_response(entry), None, "application/json"
        if method == "POST" and path == "/api/v1/log/entries":
            return self._create()
        if method == "POST" and path == "/api/v1/log/entries/retrieve":
            return ok, self._retrieve(self._json_body()), None, "application/json"
        if method == "POST" and path == "/api/v1/index/retrieve":
            body = self._json_body()
            if not isinstance(body, dict) or "hash" not in body:
                raise _HttpError(HTTPStatus.BAD_REQUEST, "only search by 'hash' is supported")
            found = log.search(_normalise_hash(body["hash"]))
            return ok, [log.entry_id(e) for e in found], None, "application/json"
        raise _HttpError(HTTPStatus.NOT_FOUND, f"no route for {method} {path}")

    def _by_index(self, query: dict[str, list[str]]) -> Any:
        log = self.server.log
        try:
            index = int(query["logIndex"][0])
        except (KeyError, ValueError) as err:
            raise _HttpError(HTTPStatus.BAD_REQUEST, "logIndex must be an integer") from err
        entry = log.get_by_index(index)
        if entry is None:
            raise _HttpError(HTTPStatus.NOT_FOUND, "entry not found")
        return log.rekor_response(entry)

    def _consistency(self, query: dict[str, list[str]]) -> Any:
        log = self.server.log
        try:
            first = int(query.get("firstSize", ["1"])[0])
            last = int(query["lastSize"][0]) if "lastSize" in query else log.size
            hashes = log.consistency_proof(first, last)
            root = log.root_hash(last)
        except ValueError as err:
            raise _HttpError(HTTPStatus.BAD_REQUEST, str(err)) from err
        return {"rootHash": root.hex(), "hashes": [h.hex() for h in hashes]}

    def _create(self) -> tuple[HTTPStatus, Any, dict[str, str] | None, str]:
        log = self.server.log
        try:
            prepared = prepare_entry(self._json_body())
            entry = log.append(prepared, integrated_time=int(time.time()))
        except EntryRejected as err:
            raise _HttpError(HTTPStatus.BAD_REQUEST, err.reason) from err
        except DuplicateEntry as err:
            return (HTTPStatus.CONFLICT,
                    {"code": int(HTTPStatus.CONFLICT), "message": str(err)},
                    {"Location": f"/api/v1/log/entries/{err.entry_id}"}, "application/json")
        entry_id = log.entry_id(entry)
        return (HTTPStatus.CREATED, log.rekor_response(entry),
                {"Location": f"/api/v1/log/entries/{entry_id}", "ETag": entry_id},
                "application/json")

    def _retrieve(self, body: Any) -> Any:
        log = self.server.log
        if not isinstance(body, dict):
            raise _HttpError(HTTPStatus.BAD_REQUEST, "expected a JSON object")
        found = []
        for uuid in body.get("entryUUIDs", []):
            entry = log.get_by_uuid(str(uuid))
            if entry is not None:
                found.append(entry)
        for index in body.get("logIndexes", []):
            entry = log.get_by_index(int(index))
            if entry is not None:
                found.append(entry)
        return [log.rekor_response(e) for e in found]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, log: TransparencyLog) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.log = log


class RekorServer:
    """Start/stop the API for one log. Not restartable: make a new one instead."""

    def __init__(self, log: TransparencyLog) -> None:
        self.log = log
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def start(self) -> str:
        """Bind a free port on 127.0.0.1, serve in a daemon thread, return the base URL."""
        if self._server is not None:
            raise RuntimeError("server already started")
        self._server = _Server(self.log)
        host, port = self._server.server_address[:2]
        self.url = f"http://{host!s}:{port}"
        # A short poll interval keeps stop() fast (shutdown waits for the next poll).
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name=f"rekor-{port}", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None

    def __enter__(self) -> RekorServer:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
