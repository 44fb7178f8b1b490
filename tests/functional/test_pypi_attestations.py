"""PEP 740 attestations on Python uploads (POST /legacy/, the fields twine --attestations and
uv publish send), over HTTP against the real server: attestations signed by the local Sigstore
instance for the package's trusted publisher verify and become the file's provenance at
/integrity/...; every refusal is problem+json with its code and leaves nothing behind. The
last test uploads a real production attestation (pypi-attestations' own sdist) to a registry
trusting the public-good root."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypi_attestations import Provenance
from sqlmodel import select

from app.core.clock import ManualClock
from app.core.db import session_scope
from app.core.models import AuditEvent, TrustedPublisher
from app.trust import publisher_rules
from formats.pypi.attestations import PUBLISH_V1, SLSA_PROVENANCE_V1
from tests.conftest import Actors, state_counts
from tests.functional.helpers import assert_problem, publish
from tests.support.attestations import make_attestation
from tests.support.pydists import build_sdist, build_wheel
from tests.support.sigstore_local import Fault, GitHubIdentity, SigstoreInstance
from tests.support.sigstore_local.oidc import OidcSigningKey, make_github_oidc_token

WORKFLOW = GitHubIdentity(repository="acme/widget", workflow="release.yml",
                          ref="refs/tags/v1.0")
REAL = Path(__file__).resolve().parents[1] / "data" / "signatures" / "pypi-attestations"


def _basic(token: str) -> dict[str, str]:
    raw = base64.b64encode(f"__token__:{token}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def upload(server_url: str, token: str, dist: Path, *, attestations: Any = None,
           gpg_signature: bytes | None = None, name: str = "widget",
           version: str = "1.0") -> httpx.Response:
    """One legacy upload, with the fields twine sends."""
    data = dist.read_bytes()
    form = {":action": "file_upload", "protocol_version": "1", "name": name,
            "version": version, "metadata_version": "2.1",
            "filetype": "bdist_wheel" if dist.name.endswith(".whl") else "sdist",
            "pyversion": "py3" if dist.name.endswith(".whl") else "source",
            "sha256_digest": hashlib.sha256(data).hexdigest()}
    if attestations is not None:
        form["attestations"] = (attestations if isinstance(attestations, str)
                                else json.dumps(attestations))
    files: dict[str, Any] = {"content": (dist.name, data, "application/octet-stream")}
    if gpg_signature is not None:
        files["gpg_signature"] = (dist.name + ".asc", gpg_signature, "application/octet-stream")
    with httpx.Client(base_url=server_url, timeout=60) as client:
        return client.post("/legacy/", data=form, files=files, headers=_basic(token))


@pytest.fixture
def alice(actors: Actors) -> str:
    """Alice's token; her workflow acme/widget release.yml is the trusted publisher of the
    (not yet existing) project widget."""
    token = actors.user("alice")
    response = actors.client(token).post("/api/v1/trusted-publishers", json={
        "target": "widget", "repository": "acme/widget", "workflow": "release.yml"})
    assert response.status_code == 201, response.text
    return token


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    return build_wheel(tmp_path, "widget", "1.0")


def _sign(instance: SigstoreInstance, dist: Path, identity: GitHubIdentity = WORKFLOW,
          **options: Any) -> dict[str, Any]:
    return make_attestation(instance, dist.read_bytes(), dist.name, identity, **options)


def test_an_attested_wheel_is_published_with_its_provenance(
        actors: Actors, alice: str, wheel: Path, sigstore_instance: SigstoreInstance) -> None:
    publish = _sign(sigstore_instance, wheel)
    slsa = _sign(sigstore_instance, wheel, predicate_type=SLSA_PROVENANCE_V1)
    response = upload(actors.server.url, alice, wheel, attestations=[publish, slsa])
    assert response.status_code == 200, response.text
    url = f"/integrity/widget/1.0/{wheel.name}/provenance"
    with actors.client() as anonymous:
        served = anonymous.get(url)
        page = anonymous.get("/simple/widget/",
                             headers={"Accept": "application/vnd.pypi.simple.v1+json"}).json()
    assert served.status_code == 200, served.text
    provenance = served.json()
    [bundle] = provenance["attestation_bundles"]
    assert bundle["publisher"] == {"kind": "GitHub", "repository": "acme/widget",
                                   "workflow": "release.yml", "environment": None}
    assert [a["envelope"] for a in bundle["attestations"]] == \
        [publish["envelope"], slsa["envelope"]]
    Provenance.model_validate(provenance)  # what pypi-attestations clients read
    [file] = page["files"]
    assert file["provenance"].endswith(url)
    with session_scope(actors.server.registry.engine) as session:
        event = session.exec(select(AuditEvent)
                             .where(AuditEvent.action == "version:publish")).one()
    assert event.details["signature"] == "sigstore"
    assert event.details["signer"]["predicate_types"] == [PUBLISH_V1, SLSA_PROVENANCE_V1]
    assert event.details["signer"]["github"]["repository"] == "acme/widget"


def test_a_token_minted_at_the_pypi_oidc_path_uploads_attested_files(
        actors: Actors, alice: str, wheel: Path, sigstore_instance: SigstoreInstance,
        github_oidc_key: OidcSigningKey, clock: ManualClock) -> None:
    """The whole trusted-publishing path of gh-action-pypi-publish: audience, mint-token,
    an upload authenticated with __token__ and the minted token, with attestations."""
    with actors.client() as anonymous:
        audience = anonymous.get("/_/oidc/audience").json()["audience"]
        jwt = make_github_oidc_token(WORKFLOW, key=github_oidc_key, audience=audience,
                                     issued_at=clock.now())
        minted = anonymous.post("/_/oidc/mint-token", json={"token": jwt}).json()
    assert minted["success"] is True
    response = upload(actors.server.url, minted["token"], wheel,
                      attestations=[_sign(sigstore_instance, wheel)])
    assert response.status_code == 200, response.text


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest, github_jwks_path: Path,
                       sigstore_instance: SigstoreInstance) -> dict[str, object]:
    return {"oidc_jwks_file": github_jwks_path, "rekor_url": sigstore_instance.rekor_url,
            **getattr(request, "param", {})}


def _refused(actors: Actors, response: httpx.Response, status: int, code: str,
             before: Any) -> None:
    body = assert_problem(response, status, code)
    assert body["detail"]
    assert state_counts(actors.server) == before
    with actors.client() as anonymous:
        assert anonymous.get("/simple/widget/").status_code == 404


@pytest.mark.parametrize(("case", "code"), [
    ("other-repository", "identity_mismatch"),
    ("other-workflow", "identity_mismatch"),
    ("other-bytes", "artifact_mismatch"),
    ("other-filename", "artifact_mismatch"),
    ("unknown-predicate", "invalid_attestations"),
    ("two-publish", "invalid_attestations"),
    ("empty", "invalid_attestations"),
    ("version-2", "signature_unsupported"),
    ("not-json", "signature_malformed"),
    ("forged-signature", "signature_invalid"),
])
def test_bad_attestations_are_refused_and_leave_nothing(
        actors: Actors, alice: str, wheel: Path, sigstore_instance: SigstoreInstance,
        tmp_path: Path, case: str, code: str) -> None:
    data = wheel.read_bytes()
    good = _sign(sigstore_instance, wheel)
    attestations: Any
    if case == "other-repository":
        attestations = [_sign(sigstore_instance, wheel, WORKFLOW.with_(repository="evil/widget"))]
    elif case == "other-workflow":
        attestations = [_sign(sigstore_instance, wheel, WORKFLOW.with_(workflow="ci.yml"))]
    elif case == "other-bytes":
        attestations = [make_attestation(sigstore_instance, data + b"x", wheel.name, WORKFLOW)]
    elif case == "other-filename":
        attestations = [make_attestation(sigstore_instance, data, "widget-2.0-py3-none-any.whl",
                                         WORKFLOW)]
    elif case == "unknown-predicate":
        attestations = [_sign(sigstore_instance, wheel,
                              predicate_type="https://example.com/predicate/v1")]
    elif case == "two-publish":
        attestations = [good, _sign(sigstore_instance, wheel)]
    elif case == "empty":
        attestations = []
    elif case == "version-2":
        attestations = [{**good, "version": 2}]
    elif case == "not-json":
        attestations = "[{not json"
    else:
        signature = bytearray(base64.b64decode(good["envelope"]["signature"]))
        signature[8] ^= 0x01
        good["envelope"]["signature"] = base64.b64encode(bytes(signature)).decode()
        attestations = [good]
    before = state_counts(actors.server)
    response = upload(actors.server.url, alice, wheel, attestations=attestations)
    _refused(actors, response, 400, code, before)
    assert response.json()["detail"].startswith("Invalid attestations supplied during upload")


def test_a_recreated_repository_cannot_attest(actors: Actors, wheel: Path,
                                              sigstore_instance: SigstoreInstance) -> None:
    """A publisher bound to the repository owner's id refuses attestations from the same
    owner/name under another account (deleted and re-created)."""
    token = actors.user("olga")
    assert actors.client(token).post("/api/v1/trusted-publishers", json={
        "target": "widget", "repository": "acme/widget", "workflow": "release.yml",
        "repository_owner_id": "1111"}).status_code == 201
    before = state_counts(actors.server)
    response = upload(actors.server.url, token, wheel, attestations=[
        _sign(sigstore_instance, wheel, WORKFLOW.with_(owner_id="2222"))])
    _refused(actors, response, 400, "identity_mismatch", before)
    assert "owner id" in response.json()["detail"]
    ok = upload(actors.server.url, token, wheel, attestations=[
        _sign(sigstore_instance, wheel, WORKFLOW.with_(owner_id="1111"))])
    assert ok.status_code == 200, ok.text


def test_attestations_without_a_trusted_publisher_are_refused(
        actors: Actors, wheel: Path, sigstore_instance: SigstoreInstance) -> None:
    token = actors.user("bob")
    before = state_counts(actors.server)
    response = upload(actors.server.url, token, wheel,
                      attestations=[_sign(sigstore_instance, wheel)])
    _refused(actors, response, 400, "no_trusted_publisher", before)


def test_the_signature_policy_decides_as_for_native_publishes(
        actors: Actors, alice: str, wheel: Path, sigstore_instance: SigstoreInstance) -> None:
    assert actors.client(alice).put("/api/v1/signature-policies", json={
        "target": "widget", "policy": "gpg"}).status_code == 200
    before = state_counts(actors.server)
    response = upload(actors.server.url, alice, wheel,
                      attestations=[_sign(sigstore_instance, wheel)])
    _refused(actors, response, 400, "signature_method_not_allowed", before)
    unsigned = upload(actors.server.url, alice, wheel)
    _refused(actors, unsigned, 400, "signature_required", before)


def test_attestations_and_a_gpg_signature_together_are_ambiguous(
        actors: Actors, alice: str, wheel: Path, sigstore_instance: SigstoreInstance) -> None:
    before = state_counts(actors.server)
    response = upload(actors.server.url, alice, wheel,
                      attestations=[_sign(sigstore_instance, wheel)],
                      gpg_signature=b"-----BEGIN PGP SIGNATURE-----\n")
    _refused(actors, response, 400, "signature_ambiguous", before)


@pytest.mark.parametrize("settings_overrides", [{"sigstore_trust": "public-good"}],
                         indirect=True)
def test_a_real_production_attestation_uploads_with_its_sdist(actors: Actors,
                                                              tmp_path: Path) -> None:
    """pypi-attestations 0.0.19's sdist (byte-identical to PyPI's) and the attestation its
    release workflow made on GitHub Actions, against the pinned public-good root."""
    token = actors.user("trailofbits")
    assert actors.client(token).post("/api/v1/trusted-publishers", json={
        "target": "pypi-attestations", "repository": "trailofbits/pypi-attestations",
        "workflow": "release.yml", "repository_owner_id": "2314423"}).status_code == 201
    sdist = REAL / "pypi_attestations-0.0.19.tar.gz"
    attestation = json.loads((REAL / f"{sdist.name}.publish.attestation").read_text())
    wrong = build_sdist(tmp_path, "pypi-attestations", "0.0.19")  # same name, other bytes
    before = state_counts(actors.server)
    refused = upload(actors.server.url, token, wrong, attestations=[attestation],
                     name="pypi-attestations", version="0.0.19")
    assert_problem(refused, 400, "artifact_mismatch")
    assert state_counts(actors.server) == before
    response = upload(actors.server.url, token, sdist, attestations=[attestation],
                      name="pypi-attestations", version="0.0.19")
    assert response.status_code == 200, response.text
    with actors.client() as anonymous:
        served = anonymous.get(f"/integrity/pypi-attestations/0.0.19/{sdist.name}/provenance")
    assert served.status_code == 200
    ours = served.json()["attestation_bundles"][0]
    pypi = json.loads((REAL / f"{sdist.name}.provenance").read_text())["attestation_bundles"][0]
    assert ours["publisher"] == pypi["publisher"]
    assert ours["attestations"][0]["envelope"] == pypi["attestations"][0]["envelope"]


@pytest.mark.parametrize("settings_overrides", [{"rekor_mode": "fail_closed"}], indirect=True)
def test_the_online_rekor_check_applies_to_attestations(
        actors: Actors, alice: str, wheel: Path, sigstore_instance: SigstoreInstance) -> None:
    """With VOUCH_REKOR_MODE=fail_closed every attestation's entry must be in the log: one
    never integrated (a split view: it passes every offline check) is refused."""
    assert actors.server.registry.settings.rekor_url == sigstore_instance.rekor_url
    unlogged = _sign(sigstore_instance, wheel, fault=Fault.UNLOGGED_ENTRY)
    before = state_counts(actors.server)
    response = upload(actors.server.url, alice, wheel, attestations=[unlogged])
    _refused(actors, response, 400, "tlog_invalid", before)
    logged = upload(actors.server.url, alice, wheel, attestations=[_sign(sigstore_instance,
                                                                         wheel)])
    assert logged.status_code == 200, logged.text


def test_a_stranger_cannot_become_a_trusted_publisher_of_an_existing_project(
        actors: Actors, alice: str, wheel: Path, sigstore_instance: SigstoreInstance,
        tmp_path: Path) -> None:
    """Once `widget` exists as a Python project, only its owners configure who may sign for
    it: another user cannot register a publisher for the name, and an attestation by a
    workflow its owners never trusted is refused even when an owner's token uploads it."""
    assert upload(actors.server.url, alice, wheel,
                  attestations=[_sign(sigstore_instance, wheel)]).status_code == 200
    mallory = actors.client(actors.user("mallory"))
    assert_problem(mallory.post("/api/v1/trusted-publishers", json={
        "target": "widget", "repository": "evil/widget", "workflow": "release.yml"}),
        403, "forbidden")
    second = build_wheel(tmp_path, "widget", "2.0")
    evil = WORKFLOW.with_(repository="evil/widget")
    before = state_counts(actors.server)
    response = upload(actors.server.url, alice, second, version="2.0",
                      attestations=[_sign(sigstore_instance, second, evil)])
    assert_problem(response, 400, "identity_mismatch")
    assert state_counts(actors.server) == before


def test_a_policy_set_on_an_existing_project_applies_to_it(
        actors: Actors, alice: str, wheel: Path, sigstore_instance: SigstoreInstance,
        tmp_path: Path) -> None:
    assert upload(actors.server.url, alice, wheel,
                  attestations=[_sign(sigstore_instance, wheel)]).status_code == 200
    response = actors.client(alice).put("/api/v1/signature-policies", json={
        "target": "widget", "policy": "gpg"})
    assert response.status_code == 200, response.text
    assert response.json()["pending_expires_at"] is None  # the project's own policy
    second = build_wheel(tmp_path, "widget", "2.0")
    before = state_counts(actors.server)
    refused = upload(actors.server.url, alice, second, version="2.0",
                     attestations=[_sign(sigstore_instance, second)])
    assert_problem(refused, 400, "signature_method_not_allowed")
    assert state_counts(actors.server) == before


def test_a_project_of_another_format_never_deletes_existing_publishers(
        actors: Actors, tmp_path: Path) -> None:
    """A Python project named like an existing native package does not claim or drop that
    package's trusted publishers (they are not pending); they stop acting while the name has
    an owner they do not share (fail closed) instead."""
    alice = actors.user("alice")
    client = actors.client(alice)
    assert publish(client, "gadget", "1.0.0").status_code == 201
    assert client.post("/api/v1/trusted-publishers", json={
        "target": "gadget", "repository": "acme/gadget",
        "workflow": "release.yml"}).status_code == 201
    bob = actors.user("bob")
    dist = build_wheel(tmp_path, "gadget", "1.0")
    signature = actors.signers["bob"].evidence("gadget", dist.read_bytes())["gpg_signature"][1]
    response = upload(actors.server.url, bob, dist, gpg_signature=signature, name="gadget")
    assert response.status_code == 200, response.text
    with session_scope(actors.server.registry.engine) as session:
        rows = session.exec(select(TrustedPublisher)
                            .where(TrustedPublisher.package_name == "gadget")).all()
        dropped = session.exec(select(AuditEvent).where(
            AuditEvent.action == "trusted-publisher:pending-invalidated")).all()
        assert [r.repository for r in rows] == ["acme/gadget"] and dropped == []
        assert publisher_rules.acting_publishers_for(session, "gadget",
                                                     actors.server.registry.clock.now()) == []
