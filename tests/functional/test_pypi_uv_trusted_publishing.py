"""`uv publish --trusted-publishing always` against Vouch, end to end, with the real uv: the
registry over HTTPS on loopback (uv builds ``https://<host>/_/oidc/...`` whatever the publish
URL says), GitHub Actions' OIDC token endpoint stood in for by a loopback server that hands out
tokens signed by the suite's test issuer (the one thing that cannot run here), attestations
signed by the local Sigstore instance next to the files, as `pypi-attestations sign` writes
them in a real workflow."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from sqlmodel import select

from app.core.clock import ManualClock
from app.core.config import Settings
from app.core.db import session_scope
from app.core.models import ApiToken, AuditEvent, PackageFile, Provenance
from tests.conftest import Actors, state_counts
from tests.support.attestations import make_attestation
from tests.support.pydists import build_sdist, build_wheel
from tests.support.server import RunningServer, running_registry
from tests.support.sigstore_local import GitHubIdentity, SigstoreInstance
from tests.support.sigstore_local.oidc import OidcSigningKey, make_github_oidc_token
from tests.support.tls import TlsFiles, make_tls_files

UV = Path(sys.executable).parent / "uv"
WORKFLOW = GitHubIdentity(repository="acme/shipped", workflow="release.yml",
                          ref="refs/tags/v1.0")
RUNNER_TOKEN = "runner-request-token"


@pytest.fixture
def tls(tmp_path: Path) -> TlsFiles:
    directory = tmp_path / "tls"
    directory.mkdir()
    return make_tls_files(directory)


@pytest.fixture
def settings_overrides(github_jwks_path: Path) -> dict[str, object]:
    return {"oidc_jwks_file": github_jwks_path}


@pytest.fixture
def server(settings: Settings, clock: ManualClock, tls: TlsFiles) -> Iterator[RunningServer]:
    """The suite's server, over HTTPS."""
    with running_registry(settings, clock, tls=(tls.certificate, tls.key)) as running:
        yield running


class _TokenEndpoint(BaseHTTPRequestHandler):
    """GitHub Actions' ACTIONS_ID_TOKEN_REQUEST_URL: ``GET ?...&audience=AUD`` with the
    runner's bearer token answers ``{"value": "<OIDC JWT for AUD>"}``."""

    key: OidcSigningKey
    clock: ManualClock
    audiences: list[str]

    def do_GET(self) -> None:
        if self.headers.get("Authorization", "").lower() != f"bearer {RUNNER_TOKEN}":
            self.send_error(401)
            return
        audience = parse_qs(urlparse(self.path).query).get("audience", [""])[0]
        self.audiences.append(audience)
        token = make_github_oidc_token(WORKFLOW, key=self.key, audience=audience,
                                       issued_at=self.clock.now())
        body = json.dumps({"count": 1, "value": token}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def token_endpoint(github_oidc_key: OidcSigningKey,
                   clock: ManualClock) -> Iterator[tuple[str, list[str]]]:
    audiences: list[str] = []
    handler = type("Handler", (_TokenEndpoint,),
                   {"key": github_oidc_key, "clock": clock, "audiences": audiences})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}/token?api-version=2.0", audiences
    finally:
        httpd.shutdown()
        httpd.server_close()


def _trusting(tls: TlsFiles) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(tls.ca))


def _uv_publish(server: RunningServer, tls: TlsFiles, token_url: str, home: Path,
                *files: Path) -> subprocess.CompletedProcess[str]:
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("UV_", "PIP_", "TWINE_", "VIRTUAL_ENV", "GITHUB_", "ACTIONS_"))}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / "cache"), UV_NO_CACHE="1",
               NO_COLOR="1", SSL_CERT_FILE=str(tls.ca), GITHUB_ACTIONS="true",
               ACTIONS_ID_TOKEN_REQUEST_URL=token_url,
               ACTIONS_ID_TOKEN_REQUEST_TOKEN=RUNNER_TOKEN)
    return subprocess.run([str(UV), "publish", "--trusted-publishing", "always",
                           "--publish-url", f"{server.url}/legacy/", *map(str, files)],
                          capture_output=True, text=True, env=env, timeout=180, check=False)


def test_uv_publishes_with_trusted_publishing_and_attestations(
        server: RunningServer, actors: Actors, tls: TlsFiles,
        token_endpoint: tuple[str, list[str]], sigstore_instance: SigstoreInstance,
        tmp_path: Path) -> None:
    token_url, audiences = token_endpoint
    owner = actors.user("alice")
    with httpx.Client(base_url=server.url, verify=_trusting(tls)) as http:
        response = http.post("/api/v1/trusted-publishers", headers={
            "Authorization": f"Bearer {owner}"}, json={
            "target": "shipped", "repository": WORKFLOW.repository,
            "workflow": WORKFLOW.workflow})
    assert response.status_code == 201, response.text
    dist = tmp_path / "dist"
    dist.mkdir()
    files = [build_wheel(dist, "shipped", "1.0"), build_sdist(dist, "shipped", "1.0")]

    # Without attestations the minted token authenticates, and the default policy refuses
    # the unsigned upload: no version, no blob; the only events are the exchange's own.
    before = state_counts(server)
    refused = _uv_publish(server, tls, token_url, tmp_path / "home", files[0])
    assert refused.returncode != 0
    assert "requires a signature" in refused.stdout + refused.stderr
    after = state_counts(server)
    assert (after.versions, after.blobs_rows, after.blob_files) == \
        (before.versions, before.blobs_rows, before.blob_files)
    with session_scope(server.registry.engine) as session:
        actions = session.exec(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[before.audit_events:] == ["trusted-publisher:bind-owner", "token:mint-oidc",
                                             "token:burn-oidc"]
    assert audiences == [server.registry.settings.oidc_audience]

    inputs: list[Path] = []
    for path in files:
        attestation = path.with_name(path.name + ".publish.attestation")
        attestation.write_text(json.dumps(make_attestation(
            sigstore_instance, path.read_bytes(), path.name, WORKFLOW)))
        inputs += [path, attestation]
    published = _uv_publish(server, tls, token_url, tmp_path / "home", *inputs)
    assert published.returncode == 0, published.stdout + published.stderr

    with session_scope(server.registry.engine) as session:
        names = session.exec(select(PackageFile.filename)
                             .order_by(PackageFile.filename)).all()
        methods = session.exec(select(Provenance.method)).all()
        minted = session.exec(select(ApiToken).where(
            ApiToken.trusted_publisher_id.isnot(None))).all()  # type: ignore[union-attr]
    assert names == sorted(p.name for p in files)
    assert methods == ["sigstore", "sigstore"]
    # One exchange per uv run, and uv burned each token when it was done.
    assert len(minted) == 2 and all(row.revoked_at is not None for row in minted)
    with httpx.Client(base_url=server.url, verify=_trusting(tls)) as http:
        page = http.get("/simple/shipped/",
                        headers={"Accept": "application/vnd.pypi.simple.v1+json"}).json()
    assert all(f["provenance"] for f in page["files"])
