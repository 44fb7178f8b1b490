"""End to end, as a GitHub Actions release workflow would do it (README, "Publishing from
GitHub Actions"): the maintainer registers a trusted publisher with the CLI; the workflow asks
the registry for its audience, exchanges its OIDC token (signed by the test issuer's JWKS) for
a publish token, signs a freshly built artifact with (the private) Sigstore and runs
`vouch publish --bundle`; a consumer then sees the verified identity with `vouch info` and
checks it with `vouch verify --trust`."""

from __future__ import annotations

import json
import os
import tarfile
from pathlib import Path

import httpx
import pytest

from app.core.clock import ManualClock
from tests.conftest import Actors
from tests.functional.clihelp import cli_env, vouch
from tests.support.sigstore_local import GitHubIdentity, SigstoreInstance
from tests.support.sigstore_local.oidc import OidcSigningKey, make_github_oidc_token

AUDIENCE = "vouch-e2e"
RUN = GitHubIdentity(repository="acme/widget", workflow="release.yml", ref="refs/tags/v1.0.0",
                     environment="release")


@pytest.fixture
def settings_overrides(github_jwks_path: Path,
                       sigstore_trusted_root_path: Path) -> dict[str, object]:
    return {"oidc_jwks_file": github_jwks_path, "oidc_audience": AUDIENCE,
            "sigstore_trust": str(sigstore_trusted_root_path),
            "default_signature_policy": "sigstore"}


def _build_artifact(directory: Path) -> Path:
    """A fresh tarball, as the workflow's build step would make it."""
    source = directory / "src"
    source.mkdir()
    (source / "widget.py").write_text(f"VERSION = '1.0.0'  # {os.urandom(8).hex()}\n")
    artifact = directory / "widget-1.0.0.tgz"
    with tarfile.open(artifact, "w:gz") as tar:
        tar.add(source / "widget.py", arcname="widget/widget.py")
    return artifact


def _exchange(server_url: str, key: OidcSigningKey, ident: GitHubIdentity,
              clock: ManualClock) -> str:
    """`curl $ACTIONS_ID_TOKEN_REQUEST_URL&audience=...` then `curl .../mint-token`."""
    with httpx.Client(base_url=server_url) as http:
        audience = http.get("/api/v1/oidc/audience").json()["audience"]
        oidc_token = make_github_oidc_token(ident, audience=audience, key=key,
                                            issued_at=clock.now())
        response = http.post("/api/v1/oidc/mint-token", json={"token": oidc_token})
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def test_a_release_workflow_publishes_a_verified_artifact(
        actors: Actors, tmp_path: Path, github_oidc_key: OidcSigningKey,
        sigstore_instance: SigstoreInstance, sigstore_trusted_root_path: Path) -> None:
    server = actors.server
    maintainer = cli_env(server.url, actors.user("alice"), tmp_path / "alice")
    added = vouch("trusted-publisher", "add", "widget", "--repository", "acme/widget",
                  "--workflow", "release.yml", "--environment", "release",
                  "--ref", "refs/tags/v*", "--json", env=maintainer, cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["package"] == "widget"

    # -- inside the workflow run ---------------------------------------------------------
    minted = _exchange(server.url, github_oidc_key, RUN, server.clock)
    artifact = _build_artifact(tmp_path)
    bundle = tmp_path / "widget-1.0.0.tgz.sigstore.json"
    bundle.write_bytes(sigstore_instance.sign_artifact(artifact.read_bytes(), RUN))
    workflow = cli_env(server.url, minted, tmp_path / "runner")
    published = vouch("publish", "widget@1.0.0", str(artifact), "--bundle", str(bundle),
                      "--description", "a widget", "--json", env=workflow, cwd=tmp_path)
    assert published.returncode == 0, published.stderr
    assert json.loads(published.stdout)["signer"]["identity"]["identity"] == RUN.san

    # The minted token is for `widget` only, and the bundle must match what is uploaded.
    other = vouch("publish", "gadget@1.0.0", str(artifact), "--bundle", str(bundle),
                  env=workflow, cwd=tmp_path)
    assert other.returncode == 1 and "forbidden" in other.stderr
    tampered = tmp_path / "widget-1.0.1.tgz"
    tampered.write_bytes(artifact.read_bytes() + b"backdoor")
    refused = vouch("publish", "widget@1.0.1", str(tampered), "--bundle", str(bundle),
                    env=workflow, cwd=tmp_path)
    assert refused.returncode == 1 and "artifact_mismatch" in refused.stderr

    # -- a consumer --------------------------------------------------------------------------
    consumer = cli_env(server.url, None, tmp_path / "consumer")
    info = vouch("info", "widget@1.0.0", env=consumer, cwd=tmp_path)
    assert info.returncode == 0, info.stderr
    assert f"sigstore by {RUN.san}" in info.stdout
    info_json = json.loads(vouch("info", "widget@1.0.0", "--json", env=consumer,
                                 cwd=tmp_path).stdout)
    assert info_json["signer"]["identity"]["github"]["repository"] == "acme/widget"
    assert info_json["published_by"] == "oidc:acme/widget"
    verified = vouch("verify", "widget@1.0.0", "--trust", str(sigstore_trusted_root_path),
                     "--json", env=consumer, cwd=tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    entry = json.loads(verified.stdout)["entries"][0]
    assert RUN.san in entry["signer"]
    # Against the public-good root the private instance's signature does not verify.
    untrusted = vouch("verify", "widget@1.0.0", env=consumer, cwd=tmp_path)
    assert untrusted.returncode == 1


def test_a_run_outside_the_registered_environment_gets_no_token(
        actors: Actors, tmp_path: Path, github_oidc_key: OidcSigningKey) -> None:
    maintainer = cli_env(actors.server.url, actors.user("alice"), tmp_path)
    assert vouch("trusted-publisher", "add", "widget", "--repository", "acme/widget",
                 "--workflow", "release.yml", "--environment", "release",
                 env=maintainer, cwd=tmp_path).returncode == 0
    with httpx.Client(base_url=actors.server.url) as http:
        token = make_github_oidc_token(RUN.with_(environment=None), audience=AUDIENCE,
                                       key=github_oidc_key,
                                       issued_at=actors.server.clock.now())
        response = http.post("/api/v1/oidc/mint-token", json={"token": token})
    assert response.status_code == 403
    assert response.json()["code"] == "invalid_publisher"
