"""Sigstore-signed publishes against trusted publishers, signed by a private Sigstore
instance (tests/support/sigstore_local) that the real sigstore-python verifies."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import Actors, state_counts
from tests.functional.helpers import assert_problem, publish
from tests.support.sigstore_local import Fault, GitHubIdentity, SigstoreInstance

IDENTITY = GitHubIdentity(repository="acme/widget", workflow="release.yml",
                          ref="refs/tags/v1.0.0")


@pytest.fixture
def owner(actors: Actors) -> httpx.Client:
    client = actors.client(actors.user("olga"))
    assert client.post("/api/v1/orgs", json={"name": "acme"}).status_code == 201
    response = client.post("/api/v1/trusted-publishers", json={
        "target": "@acme/widget", "repository": "acme/widget", "workflow": "release.yml",
        "ref_pattern": "refs/tags/v*"})
    assert response.status_code == 201, response.text
    return client


def _publish_signed(client: httpx.Client, data: bytes, bundle: bytes,
                    version: str = "1.0.0", **extra: Any) -> httpx.Response:
    return publish(client, "@acme/widget", version, data,
                   sigstore_bundle=("bundle.sigstore.json", bundle, "application/json"),
                   **extra)


def test_the_trusted_identity_publishes_and_provenance_is_served(
        owner: httpx.Client, sigstore_instance: SigstoreInstance) -> None:
    data = b"widget 1.0.0"
    response = _publish_signed(owner, data, sigstore_instance.sign_artifact(data, IDENTITY))
    assert response.status_code == 201, response.text
    signer = response.json()["signer"]
    assert signer["method"] == "sigstore"
    assert signer["identity"]["identity"] == IDENTITY.san
    assert signer["identity"]["github"]["repository"] == "acme/widget"
    assert signer["log_index"] is not None
    provenance = owner.get("/api/v1/packages/@acme/widget/versions/1.0.0/provenance").json()
    assert provenance["method"] == "sigstore" and provenance["bundle"]["mediaType"]


def test_dsse_bundles_bind_the_subject_name_and_digest(
        owner: httpx.Client, sigstore_instance: SigstoreInstance) -> None:
    data = b"widget dsse"
    good = sigstore_instance.sign_artifact(data, IDENTITY, kind="dsse",
                                           name="widget-1.0.0.tgz")
    assert _publish_signed(owner, data, good).status_code == 201
    renamed = sigstore_instance.sign_artifact(b"widget 2", IDENTITY, kind="dsse",
                                              name="other-name.tgz")
    assert_problem(_publish_signed(owner, b"widget 2", renamed, "2.0.0"), 400,
                   "artifact_mismatch")


@pytest.mark.parametrize(("identity", "code"), [
    (GitHubIdentity(repository="evil/widget", workflow="release.yml"), "identity_mismatch"),
    (GitHubIdentity(repository="acme/widget", workflow="other.yml"), "identity_mismatch"),
    (GitHubIdentity(repository="acme/widget", workflow="release.yml",
                    ref="refs/heads/main"), "identity_mismatch"),
    (GitHubIdentity(repository="acme/widget", workflow="release.yml",
                    issuer="https://evil.example/oidc"), "identity_mismatch"),
])
def test_wrong_identity_is_refused(actors: Actors, owner: httpx.Client,
                                   sigstore_instance: SigstoreInstance,
                                   identity: GitHubIdentity, code: str) -> None:
    data = b"widget wrong identity"
    before = state_counts(actors.server)
    assert_problem(_publish_signed(owner, data, sigstore_instance.sign_artifact(data, identity)),
                   400, code)
    assert state_counts(actors.server) == before


@pytest.mark.parametrize(("fault", "code"), [
    (Fault.CERT_EXPIRED_AT_LOG_TIME, "certificate_invalid"),
    (Fault.TAMPERED_INCLUSION_PROOF, "tlog_invalid"),
    (Fault.TAMPERED_SET, "tlog_invalid"),
    (Fault.UNTRUSTED_CA, "certificate_invalid"),
])
def test_broken_evidence_is_refused(actors: Actors, owner: httpx.Client,
                                    sigstore_instance: SigstoreInstance, fault: Fault,
                                    code: str) -> None:
    data = f"widget {fault}".encode()
    before = state_counts(actors.server)
    response = _publish_signed(owner, data,
                               sigstore_instance.sign_artifact(data, IDENTITY, fault=fault))
    assert_problem(response, 400, code)
    assert state_counts(actors.server) == before


def test_tampered_artifact_and_bundle_for_another_artifact(
        actors: Actors, owner: httpx.Client, sigstore_instance: SigstoreInstance) -> None:
    before = state_counts(actors.server)
    bundle = sigstore_instance.sign_artifact(b"the real bytes", IDENTITY)
    assert_problem(_publish_signed(owner, b"the real bytes + backdoor", bundle), 400,
                   "artifact_mismatch")
    other = sigstore_instance.sign_artifact(b"some other artifact", IDENTITY)
    assert_problem(_publish_signed(owner, b"widget", other), 400, "artifact_mismatch")
    assert state_counts(actors.server) == before


def test_unsigned_garbage_and_untrusted_packages(actors: Actors, owner: httpx.Client,
                                                 sigstore_instance: SigstoreInstance) -> None:
    before = state_counts(actors.server)
    assert_problem(publish(owner, "@acme/widget", "1.0.0", b"unsigned", signed=False), 400,
                   "signature_required")
    assert_problem(_publish_signed(owner, b"x", b"{not a bundle"), 400, "signature_malformed")
    data = b"gadget"
    response = publish(owner, "@acme/gadget", "1.0.0", data, sigstore_bundle=(
        "b.json", sigstore_instance.sign_artifact(data, IDENTITY), "application/json"))
    assert_problem(response, 400, "no_trusted_publisher")
    assert state_counts(actors.server) == before


def test_scope_wide_publisher_and_policy_gpg_only(actors: Actors, owner: httpx.Client,
                                                 sigstore_instance: SigstoreInstance) -> None:
    assert owner.post("/api/v1/trusted-publishers", json={
        "target": "@acme", "repository": "acme/monorepo", "workflow": "publish.yml",
    }).status_code == 201
    ident = GitHubIdentity(repository="acme/monorepo", workflow="publish.yml")
    data = b"any package of the scope"
    response = publish(owner, "@acme/tool", "1.0.0", data, sigstore_bundle=(
        "b.json", sigstore_instance.sign_artifact(data, ident), "application/json"))
    assert response.status_code == 201, response.text
    assert owner.put("/api/v1/signature-policies",
                     json={"target": "@acme/tool", "policy": "gpg"}).status_code == 200
    data2 = b"tool 1.1.0"
    response = publish(owner, "@acme/tool", "1.1.0", data2, sigstore_bundle=(
        "b.json", sigstore_instance.sign_artifact(data2, ident), "application/json"))
    assert_problem(response, 400, "signature_method_not_allowed")


def test_only_owners_manage_trusted_publishers(actors: Actors, owner: httpx.Client) -> None:
    mallory = actors.client(actors.user("mallory"))
    assert_problem(mallory.post("/api/v1/trusted-publishers", json={
        "target": "@acme/widget", "repository": "evil/x", "workflow": "r.yml"}), 403,
        "forbidden")
    assert_problem(mallory.post("/api/v1/trusted-publishers", json={
        "target": "@acme", "repository": "evil/x", "workflow": "r.yml"}), 403, "forbidden")
    listed = owner.get("/api/v1/trusted-publishers", params={"target": "@acme/widget"}).json()
    assert [p["repository"] for p in listed] == ["acme/widget"]
    assert_problem(mallory.delete(f"/api/v1/trusted-publishers/{listed[0]['id']}"), 403,
                   "forbidden")
    assert_problem(owner.post("/api/v1/trusted-publishers", json={
        "target": "@acme/widget", "repository": "not a repo", "workflow": "r.yml"}), 400,
        "malformed_input")
