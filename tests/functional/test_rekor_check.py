"""Online Rekor confirmation on publish (VOUCH_REKOR_MODE), against the private Sigstore
instance's Rekor v1 server on 127.0.0.1: an entry that was never integrated into the log
passes every offline check and is caught only by asking the log."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import httpx
import pytest

from app.trust.rekor_check import build_log_check
from signing.trust import TrustRoot
from tests.conftest import Actors, state_counts
from tests.functional.helpers import assert_problem, publish
from tests.support.sigstore_local import Fault, GitHubIdentity, SigstoreInstance

IDENTITY = GitHubIdentity(repository="acme/widget", workflow="release.yml",
                          ref="refs/tags/v1.0.0")


def _closed_port_url() -> str:
    """A loopback URL nothing listens on (connections are refused at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest, sigstore_trusted_root_path: Path,
                       sigstore_instance: SigstoreInstance) -> dict[str, object]:
    mode, where = getattr(request, "param", ("off", "live"))
    url = sigstore_instance.rekor_url if where == "live" else _closed_port_url()
    return {"sigstore_trust": str(sigstore_trusted_root_path),
            "default_signature_policy": "sigstore", "rekor_mode": mode, "rekor_url": url}


@pytest.fixture
def owner(actors: Actors) -> httpx.Client:
    client = actors.client(actors.user("olga"))
    assert client.post("/api/v1/orgs", json={"name": "acme"}).status_code == 201
    assert client.post("/api/v1/trusted-publishers", json={
        "target": "@acme/widget", "repository": "acme/widget",
        "workflow": "release.yml"}).status_code == 201
    return client


def _publish(client: httpx.Client, data: bytes, bundle: bytes,
             version: str = "1.0.0") -> httpx.Response:
    return publish(client, "@acme/widget", version, data,
                   sigstore_bundle=("bundle.sigstore.json", bundle, "application/json"))


def test_an_unlogged_entry_is_accepted_when_lookups_are_off(
        owner: httpx.Client, sigstore_instance: SigstoreInstance) -> None:
    data = b"widget, never logged (offline)"
    bundle = sigstore_instance.sign_artifact(data, IDENTITY, fault=Fault.UNLOGGED_ENTRY)
    assert _publish(owner, data, bundle).status_code == 201


@pytest.mark.parametrize("settings_overrides", [("fail_closed", "live"), ("fail_open", "live")],
                         indirect=True)
def test_an_unlogged_entry_is_refused_when_the_log_is_asked(
        actors: Actors, owner: httpx.Client, sigstore_instance: SigstoreInstance) -> None:
    data = b"widget, never logged"
    bundle = sigstore_instance.sign_artifact(data, IDENTITY, fault=Fault.UNLOGGED_ENTRY)
    before = state_counts(actors.server)
    body = assert_problem(_publish(owner, data, bundle), 400, "tlog_invalid")
    assert "no entry" in body["detail"] or "another" in body["detail"]
    assert state_counts(actors.server) == before


@pytest.mark.parametrize("settings_overrides", [("fail_closed", "live")], indirect=True)
def test_a_logged_entry_is_confirmed_online(
        owner: httpx.Client, sigstore_instance: SigstoreInstance) -> None:
    data = b"widget, logged"
    response = _publish(owner, data, sigstore_instance.sign_artifact(data, IDENTITY))
    assert response.status_code == 201, response.text
    assert response.json()["signer"]["log_index"] is not None


@pytest.mark.parametrize("settings_overrides", [("fail_closed", "down")], indirect=True)
def test_fail_closed_refuses_when_the_log_is_unreachable(
        actors: Actors, owner: httpx.Client, sigstore_instance: SigstoreInstance) -> None:
    data = b"widget, rekor down, fail closed"
    before = state_counts(actors.server)
    body = assert_problem(_publish(owner, data, sigstore_instance.sign_artifact(data, IDENTITY)),
                          503, "rekor_unavailable")
    assert "retry later" in body["detail"]
    assert state_counts(actors.server) == before


@pytest.mark.parametrize("settings_overrides", [("fail_open", "down")], indirect=True)
def test_fail_open_accepts_with_a_loud_warning_when_the_log_is_unreachable(
        owner: httpx.Client, sigstore_instance: SigstoreInstance,
        caplog: pytest.LogCaptureFixture) -> None:
    data = b"widget, rekor down, fail open"
    with caplog.at_level(logging.WARNING, logger="vouch.rekor"):
        response = _publish(owner, data, sigstore_instance.sign_artifact(data, IDENTITY))
    assert response.status_code == 201, response.text
    warnings = [r.getMessage() for r in caplog.records if r.name == "vouch.rekor"]
    assert any("WITHOUT online log confirmation" in m for m in warnings), warnings


def test_a_lookup_mode_without_a_url_is_a_configuration_error(
        sigstore_trusted_root_path: Path) -> None:
    trust = TrustRoot.from_file(sigstore_trusted_root_path)
    assert build_log_check(None, "off", trust) is None
    with pytest.raises(ValueError, match="VOUCH_REKOR_URL"):
        build_log_check(None, "fail_closed", trust)
