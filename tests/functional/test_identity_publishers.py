"""Personal Sigstore identities as trusted publishers (issue 12).

A real bundle from sigstore-python's test assets (tests/data/signatures/sigstore-python/
bundle.txt.sigstore: ``bundle.txt`` signed as ``a@tny.town`` through
``https://github.com/login/oauth`` on Sigstore's *staging* instance) is verified offline against
the TUF-pinned staging trust root in signing/data (``sigstore_trust="staging"``).
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import Actors, state_counts
from tests.functional.clihelp import cli_env, vouch
from tests.functional.helpers import assert_problem, publish
from tests.support.server import RunningServer

ASSETS = Path(__file__).resolve().parents[1] / "data" / "signatures" / "sigstore-python"
ARTIFACT = (ASSETS / "bundle.txt").read_bytes()
BUNDLE = (ASSETS / "bundle.txt.sigstore").read_bytes()
EMAIL, GITHUB_LOGIN = "a@tny.town", "https://github.com/login/oauth"


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"sigstore_trust": "staging", "default_signature_policy": "any"}


def _trust(client: httpx.Client, target: str, identity: str = EMAIL,
           issuer: str = GITHUB_LOGIN) -> httpx.Response:
    return client.post("/api/v1/trusted-publishers", json={
        "target": target, "provider": "identity", "identity": identity, "issuer": issuer})


def _publish(client: httpx.Client, name: str, version: str = "1.0.0") -> httpx.Response:
    return publish(client, name, version, ARTIFACT,
                   sigstore_bundle=("bundle.txt.sigstore", BUNDLE, "application/json"))


def test_a_trusted_personal_identity_publishes_the_first_version(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    added = _trust(alice, "tny-notes")
    assert added.status_code == 201, added.text
    doc = added.json()
    assert doc["provider"] == "identity" and doc["identity"] == EMAIL
    assert doc["issuer"] == GITHUB_LOGIN and doc["repository"] is None
    assert doc["pending_expires_at"] is not None  # the name does not exist yet: pending

    response = _publish(alice, "tny-notes")
    assert response.status_code == 201, response.text
    signer = response.json()["signer"]
    assert signer["method"] == "sigstore"
    assert signer["identity"]["identity"] == EMAIL
    assert signer["identity"]["issuer"] == GITHUB_LOGIN
    listed = alice.get("/api/v1/trusted-publishers", params={"target": "tny-notes"}).json()
    assert [(p["provider"], p["identity"], p["pending_expires_at"]) for p in listed] == [
        ("identity", EMAIL, None)]  # claimed with the package


@pytest.mark.parametrize(("identity", "issuer"), [
    ("b@tny.town", GITHUB_LOGIN),                  # someone else's address
    (EMAIL, "https://accounts.google.com"),        # the same address from another issuer
    ("A@tny.town", GITHUB_LOGIN),                  # identities compare exactly
])
def test_a_bundle_of_another_identity_is_refused_and_leaves_nothing(
        actors: Actors, server: RunningServer, identity: str, issuer: str) -> None:
    alice = actors.client(actors.user("alice"))
    assert _trust(alice, "tny-notes", identity, issuer).status_code == 201
    before = state_counts(server)
    response = _publish(alice, "tny-notes")
    assert_problem(response, 400, "identity_mismatch")
    assert state_counts(server) == before
    assert alice.get("/api/v1/packages/tny-notes").status_code == 404


def test_github_publishers_do_not_trust_a_personal_bundle(actors: Actors,
                                                          server: RunningServer) -> None:
    alice = actors.client(actors.user("alice"))
    assert alice.post("/api/v1/trusted-publishers", json={
        "target": "tny-notes", "repository": "a/tny", "workflow": "release.yml"}
    ).status_code == 201
    before = state_counts(server)
    assert_problem(_publish(alice, "tny-notes"), 400, "identity_mismatch")
    assert state_counts(server) == before


@pytest.mark.parametrize("body", [
    {"provider": "identity", "identity": EMAIL},                                # no issuer
    {"provider": "identity", "issuer": GITHUB_LOGIN},                           # no identity
    {"provider": "identity", "identity": EMAIL, "issuer": "http://idp.test"},   # not https
    {"provider": "identity", "identity": EMAIL, "issuer": GITHUB_LOGIN,
     "repository": "a/tny", "workflow": "release.yml"},                         # both kinds
    {"provider": "github", "identity": EMAIL, "issuer": GITHUB_LOGIN},         # wrong kind
    {"identity": EMAIL, "issuer": GITHUB_LOGIN},                                # default github
])
def test_malformed_identity_publishers_are_refused(actors: Actors, server: RunningServer,
                                                   body: dict[str, str]) -> None:
    alice = actors.client(actors.user("alice"))
    before = state_counts(server)
    assert_problem(alice.post("/api/v1/trusted-publishers",
                              json={"target": "tny-notes", **body}), 400, "malformed_input")
    assert state_counts(server) == before
    assert alice.get("/api/v1/trusted-publishers", params={"target": "tny-notes"}).json() == []


def test_a_pending_identity_is_dropped_when_someone_else_claims_the_name(
        actors: Actors) -> None:
    mallory = actors.client(actors.user("mallory"))
    alice = actors.client(actors.user("alice"))
    assert _trust(mallory, "tny-notes").status_code == 201  # mallory pre-registers a@tny.town
    assert publish(alice, "tny-notes", "0.1.0", b"alice's own").status_code == 201  # GPG
    assert alice.get("/api/v1/trusted-publishers",
                     params={"target": "tny-notes"}).json() == []
    admin = actors.client(actors.user("root", admin=True))
    events = admin.get("/api/v1/audit-events", params={"package": "tny-notes"}).json()
    actions = [e["action"] for e in events]
    assert "trusted-publisher:pending-invalidated" in actions
    assert_problem(_publish(alice, "tny-notes", "0.2.0"), 400, "no_trusted_publisher")


def test_someone_else_cannot_trust_an_identity_for_my_package(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    mallory = actors.client(actors.user("mallory"))
    assert publish(alice, "tny-notes", "0.1.0", b"alice's own").status_code == 201
    assert_problem(_trust(mallory, "tny-notes"), 403, "forbidden")


def test_cli_trusts_an_identity_and_publishes_its_bundle(
        actors: Actors, server: RunningServer, tmp_path: Path) -> None:
    env = cli_env(server.url, actors.user("alice"), tmp_path)
    added = vouch("trusted-publisher", "add", "tny-notes", "--identity", EMAIL,
                  "--issuer", GITHUB_LOGIN, env=env, cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    assert f"identity:{EMAIL} via {GITHUB_LOGIN}" in added.stdout
    (tmp_path / "bundle.txt").write_bytes(ARTIFACT)
    (tmp_path / "bundle.txt.sigstore").write_bytes(BUNDLE)
    published = vouch("publish", "tny-notes@1.0.0", "bundle.txt", "--bundle",
                      "bundle.txt.sigstore", env=env, cwd=tmp_path)
    assert published.returncode == 0, published.stdout + published.stderr
    listed = vouch("trusted-publisher", "list", "tny-notes", env=env, cwd=tmp_path)
    assert f"identity:{EMAIL} via {GITHUB_LOGIN}" in listed.stdout
    half = vouch("trusted-publisher", "add", "other", "--identity", EMAIL, env=env,
                 cwd=tmp_path)
    assert half.returncode == 2 and "--issuer" in half.stderr
