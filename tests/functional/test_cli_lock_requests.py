"""`vouch lock` resolves from the package documents: a counting reverse proxy between the real
`vouch` and the real server records every request, and lock must make no per-version request
(`/versions/...`), however many candidate versions are signed, unsigned or affected.

The proxy is a plain threaded HTTP server in this test that forwards each request unchanged
(method, path, query, body, headers) to the registry and records method and path.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from tests.conftest import Actors
from tests.functional.clihelp import cli_env, vouch
from tests.functional.helpers import publish

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host",
              "content-encoding"}


class CountingProxy:
    """Forwards to ``upstream`` and records ``(method, path)`` of every request."""

    def __init__(self, upstream: str) -> None:
        self.requests: list[tuple[str, str]] = []
        lock = threading.Lock()
        client = httpx.Client(base_url=upstream, timeout=60)
        seen = self.requests

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                with lock:
                    seen.append((self.command, self.path.split("?", 1)[0]))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in HOP_BY_HOP}
                answer = client.request(self.command, self.path, content=body,
                                        headers=headers)
                payload = answer.content
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _forward

            def log_message(self, format: str, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._client = client
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()


@pytest.fixture
def proxy(actors: Actors) -> Iterator[CountingProxy]:
    running = CountingProxy(actors.server.url)
    yield running
    running.close()


GRAPH = {  # name -> versions -> dependencies; the newest of each is unsigned
    "web": {"1.0.0": {"util": "^1.0.0", "fmt": "^2.0.0"},
            "1.1.0": {"util": "^1.0.0", "fmt": "^2.0.0"},
            "1.2.0": {"util": "^1.1.0", "fmt": "^2.0.0"}},
    "util": {"1.0.0": {"fmt": "^2.0.0"}, "1.1.0": {"fmt": "^2.0.0"},
             "1.2.0": {"fmt": "^2.0.0"}},
    "fmt": {"2.0.0": {}, "2.1.0": {}, "2.2.0": {}},
}


@pytest.mark.parametrize("settings_overrides", [{"default_signature_policy": "none"}],
                         indirect=True)
def test_lock_makes_no_per_version_requests(actors: Actors, proxy: CountingProxy,
                                            tmp_path: Path) -> None:
    alice = actors.client(actors.user("alice"))
    for name, versions in reversed(GRAPH.items()):  # dependencies first
        for version, deps in versions.items():
            newest = version == max(versions)
            response = publish(alice, name, version, f"{name}{version}".encode(),
                               metadata={"dependencies": deps}, signed=not newest)
            assert response.status_code == 201, response.text
    project = tmp_path / "app"
    project.mkdir()
    (project / "vouch.toml").write_text('[dependencies]\nweb = "^1.0.0"\n')
    env = cli_env(proxy.url, None, tmp_path)

    for n, flags in enumerate(([], ["--avoid-vulnerable"], ["--allow-unsigned"])):
        env["VOUCH_CACHE_DIR"] = str(tmp_path / f"cache{n}")  # nothing cached between runs
        proxy.requests.clear()
        done = vouch("lock", "--json", *flags, env=env, cwd=project)
        assert done.returncode == 0, done.stderr
        locked = {p["name"]: p["version"] for p in json.loads(done.stdout)["packages"]}
        expected = ({"web": "1.2.0", "util": "1.2.0", "fmt": "2.2.0"}
                    if flags == ["--allow-unsigned"] else
                    {"web": "1.1.0", "util": "1.1.0", "fmt": "2.1.0"})  # newest signed
        assert locked == expected, (flags, done.stderr)
        assert proxy.requests, "the lock went around the proxy"
        per_version = [r for r in proxy.requests if "/versions/" in r[1]]
        assert per_version == [], (flags, per_version)
        metadata = [r for r in proxy.requests if r == ("POST", "/api/v1/metadata")]
        assert 1 <= len(metadata) <= 3, proxy.requests  # one batch per level of the graph
