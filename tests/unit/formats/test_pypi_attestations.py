"""PEP 740 attestations on upload (formats/pypi/attestations.py): real attestations from
pypi-attestations' test assets (production Sigstore, GitHub Actions and GitLab; staging for the
rfc8785 wheel; see tests/data/signatures/README.md), verified offline against the pinned
roots, and attestations signed by the local Sigstore test instance for the cases no real
attestation covers (an unknown predicate, a re-created repository owner)."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from pypi_attestations import Provenance

from formats.pypi.attestations import (
    PUBLISH_V1,
    SLSA_PROVENANCE_V1,
    InvalidAttestations,
    provenance_bundles,
    provenance_object,
    verify_attestations,
)
from signing.errors import (
    DigestMismatch,
    IdentityMismatch,
    MalformedSignature,
    PolicyError,
    SignatureInvalid,
    UnsupportedSignature,
    VerificationError,
)
from signing.policy import GenericIdentity, GitHubPublisher
from signing.trust import TrustRoot
from tests.support.attestations import make_attestation
from tests.support.sigstore_local import GitHubIdentity, SigstoreInstance

DATA = Path(__file__).resolve().parents[2] / "data" / "signatures" / "pypi-attestations"
SDIST = "pypi_attestations-0.0.19.tar.gz"
PUBLISHER = GitHubPublisher("trailofbits/pypi-attestations", "release.yml")
OWNER_ID = "2314423"  # trailofbits' GitHub id, in the certificate's 1.3.6.1.4.1.57264.1.17
GITLAB_SAN = "https://gitlab.com/facutuesca/gitlab-oidc-project//.gitlab-ci.yml@refs/heads/main"
PROD = TrustRoot.public_good()


def _read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _att(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(_read(name))
    return loaded


def _field(*attestations: dict[str, Any]) -> str:
    """The `attestations` upload field: a JSON array."""
    return json.dumps(list(attestations))


def _verify(field: str, filename: str = SDIST, data: bytes | None = None,
            publishers: list[Any] | None = None, trust: TrustRoot = PROD) -> list[Any]:
    payload = _read(SDIST) if data is None else data
    return verify_attestations(field, filename=filename, sha256=_sha(payload),
                               publishers=[PUBLISHER] if publishers is None else publishers,
                               trust=trust)


# -- real attestations that verify ------------------------------------------------------------
def test_publish_attestation_verifies_against_its_github_publisher() -> None:
    [verified] = _verify(_field(_att(f"{SDIST}.publish.attestation")))
    assert verified.predicate_type == PUBLISH_V1
    assert verified.publisher is PUBLISHER
    assert verified.sigstore.github.repository == "trailofbits/pypi-attestations"
    assert verified.sigstore.github.repository_owner_id == OWNER_ID
    assert verified.sigstore.entry_kind == "dsse"
    assert verified.sigstore.log_index == 153454663


def test_publish_and_slsa_attestations_verify_together_and_build_pypi_provenance() -> None:
    verified = _verify(_field(_att(f"{SDIST}.publish.attestation"),
                              _att(f"{SDIST}.slsa.attestation")))
    assert [v.predicate_type for v in verified] == [PUBLISH_V1, SLSA_PROVENANCE_V1]
    provenance = provenance_object(provenance_bundles(verified))
    # One publisher, both attestations, in the shape PyPI serves and pypi-attestations reads.
    assert provenance["version"] == 1
    [bundle] = provenance["attestation_bundles"]
    assert bundle["publisher"] == {"kind": "GitHub", "repository": "trailofbits/pypi-attestations",
                                   "workflow": "release.yml", "environment": None}
    assert len(bundle["attestations"]) == 2
    parsed = Provenance.model_validate(provenance)
    assert parsed.attestation_bundles[0].publisher.kind == "GitHub"


def test_provenance_object_matches_the_real_pypi_provenance_file() -> None:
    """PyPI's own provenance for this sdist (the fixture) holds the publish attestation under
    the same publisher object as ours."""
    pypi = json.loads(_read(f"{SDIST}.provenance"))
    ours = provenance_object(provenance_bundles(_verify(_field(pypi["attestation_bundles"][0]
                                                               ["attestations"][0]))))
    assert ours["attestation_bundles"][0]["publisher"] == \
        pypi["attestation_bundles"][0]["publisher"]
    ours_att = ours["attestation_bundles"][0]["attestations"][0]
    theirs = pypi["attestation_bundles"][0]["attestations"][0]
    assert ours_att["envelope"] == theirs["envelope"]
    assert ours_att["verification_material"]["certificate"] == \
        theirs["verification_material"]["certificate"]


def test_repository_owner_id_binding_applies_to_attestations() -> None:
    bound = GitHubPublisher("trailofbits/pypi-attestations", "release.yml",
                            repository_owner_id=OWNER_ID)
    assert _verify(_field(_att(f"{SDIST}.publish.attestation")), publishers=[bound])
    recreated = GitHubPublisher("trailofbits/pypi-attestations", "release.yml",
                                repository_owner_id="999999")
    with pytest.raises(IdentityMismatch, match="owner id"):
        _verify(_field(_att(f"{SDIST}.publish.attestation")), publishers=[recreated])


def test_subject_is_compared_as_a_normalised_distribution_filename() -> None:
    """The registry may store the file under its normalised name; PEP 740 compares parsed
    names (project, version), so the same sdist spelled differently still matches."""
    [verified] = _verify(_field(_att(f"{SDIST}.publish.attestation")),
                         filename="PyPI.Attestations-0.0.19.tar.gz")
    assert verified.predicate_type == PUBLISH_V1


def test_gitlab_attestation_verifies_against_an_identity_publisher() -> None:
    data = _read("gitlab_oidc_project-0.0.3.tar.gz")
    identity = GenericIdentity(san=GITLAB_SAN, issuer="https://gitlab.com")
    [verified] = verify_attestations(
        _field(_att("gitlab_oidc_project-0.0.3.tar.gz.publish.attestation")),
        filename="gitlab_oidc_project-0.0.3.tar.gz", sha256=_sha(data),
        publishers=[PUBLISHER, identity], trust=PROD)
    assert verified.publisher is identity
    provenance = provenance_object(provenance_bundles([verified]))
    assert provenance["attestation_bundles"][0]["publisher"] == {
        "kind": "GitLab", "repository": "facutuesca/gitlab-oidc-project",
        "workflow_filepath": ".gitlab-ci.yml", "environment": None}
    Provenance.model_validate(provenance)


def test_rfc8785_wheel_attestation_verifies_against_the_staging_root() -> None:
    wheel = "rfc8785-0.1.2-py3-none-any.whl"
    data = _read(wheel)
    person = GenericIdentity(san="william@yossarian.net", issuer="https://github.com/login/oauth")
    [verified] = verify_attestations(_field(_att(f"{wheel}.publish.attestation")),
                                     filename=wheel, sha256=_sha(data), publishers=[person],
                                     trust=TrustRoot.staging())
    assert verified.sigstore.identity == "william@yossarian.net"
    assert provenance_bundles([verified])[0].publisher == {
        "kind": "Sigstore", "identity": "william@yossarian.net",
        "issuer": "https://github.com/login/oauth"}
    with pytest.raises(VerificationError):  # a staging signature is no production signature
        verify_attestations(_field(_att(f"{wheel}.publish.attestation")), filename=wheel,
                            sha256=_sha(data), publishers=[person], trust=PROD)


# -- real attestations refused ----------------------------------------------------------------
def test_tampered_file_bytes_are_refused() -> None:
    tampered = bytearray(_read(SDIST))
    tampered[100] ^= 0x01
    with pytest.raises(DigestMismatch):
        _verify(_field(_att(f"{SDIST}.publish.attestation")), data=bytes(tampered))


@pytest.mark.parametrize("filename", ["pypi_attestations-0.0.20.tar.gz",
                                      "other_project-0.0.19.tar.gz",
                                      "pypi_attestations-0.0.19-py3-none-any.whl"])
def test_attestation_for_another_filename_is_refused(filename: str) -> None:
    with pytest.raises(DigestMismatch, match="not this file"):
        _verify(_field(_att(f"{SDIST}.publish.attestation")), filename=filename)


def test_uploaded_file_that_is_no_distribution_is_refused() -> None:
    with pytest.raises(DigestMismatch, match="not a wheel or sdist"):
        _verify(_field(_att(f"{SDIST}.publish.attestation")), filename="payload.exe")


@pytest.mark.parametrize("publisher", [
    GitHubPublisher("trailofbits/other-repository", "release.yml"),
    GitHubPublisher("trailofbits/pypi-attestations", "ci.yml"),
    GitHubPublisher("trailofbits/pypi-attestations", "release.yml", ref_pattern="refs/heads/*"),
    GenericIdentity(san="william@yossarian.net", issuer="https://github.com/login/oauth"),
], ids=["repository", "workflow", "ref", "identity"])
def test_wrong_publisher_is_refused(publisher: Any) -> None:
    with pytest.raises(IdentityMismatch):
        _verify(_field(_att(f"{SDIST}.publish.attestation")), publishers=[publisher])


def test_no_publisher_is_no_pass() -> None:
    with pytest.raises(PolicyError):
        _verify(_field(_att(f"{SDIST}.publish.attestation")), publishers=[])


def test_two_attestations_of_one_predicate_type_are_refused() -> None:
    att = _att(f"{SDIST}.publish.attestation")
    with pytest.raises(InvalidAttestations, match="more than one"):
        _verify(_field(att, att))


def test_version_other_than_1_is_refused() -> None:
    att = {**_att(f"{SDIST}.publish.attestation"), "version": 2}
    with pytest.raises(UnsupportedSignature, match="version 2"):
        _verify(_field(att))


@pytest.mark.parametrize("entry", [{"foo": 1}, "drop-inclusion-proof"])
def test_a_transparency_entry_that_is_no_log_entry_is_malformed(entry: Any) -> None:
    att = _att(f"{SDIST}.publish.attestation")
    entries = att["verification_material"]["transparency_entries"]
    if entry == "drop-inclusion-proof":
        del entries[0]["inclusionProof"]
    else:
        entries[0] = entry
    with pytest.raises(MalformedSignature, match="cannot be read as a Sigstore bundle"):
        _verify(_field(att))


def test_forged_signature_is_refused() -> None:
    att = _att(f"{SDIST}.publish.attestation")
    sig = bytearray(base64.b64decode(att["envelope"]["signature"]))
    sig[-5] ^= 0x01
    att["envelope"]["signature"] = base64.b64encode(bytes(sig)).decode()
    with pytest.raises(VerificationError):
        _verify(_field(att))


def test_statement_swapped_under_a_signature_is_refused() -> None:
    """The SLSA statement under the publish attestation's signature and certificate."""
    att = _att(f"{SDIST}.publish.attestation")
    att["envelope"]["statement"] = _att(f"{SDIST}.slsa.attestation")["envelope"]["statement"]
    with pytest.raises((SignatureInvalid, VerificationError)):
        _verify(_field(att))


@pytest.mark.parametrize(("field", "error", "match"), [
    ("{not json", MalformedSignature, "not JSON"),
    ('{"version": 1}', MalformedSignature, "JSON array"),
    ("[1, 2]", MalformedSignature, "JSON array"),
    ("[]", InvalidAttestations, "empty"),
    ('[{"version": 1}]', MalformedSignature, "not a PEP 740 attestation"),
    ('[{"version": 1, "verification_material": {"certificate": 42, '
     '"transparency_entries": [{}]}, "envelope": {"statement": "e30=", "signature": "AA=="}}]',
     MalformedSignature, "not a PEP 740 attestation"),
    (json.dumps([{}, {}, {}]), InvalidAttestations, "at most one per predicate type"),
], ids=["not-json", "object", "not-objects", "empty", "fields-missing", "bad-certificate",
        "too-many"])
def test_malformed_attestations_field_is_refused(field: str, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        _verify(field)


# -- the local Sigstore instance: cases no real attestation covers -----------------------------
WHEEL = "widget-1.0-py3-none-any.whl"
WORKFLOW = GitHubIdentity(repository="acme/widget", workflow="release.yml",
                          ref="refs/tags/v1.0", owner_id="4242")


@pytest.fixture(scope="module")
def local_trust(sigstore_instance: SigstoreInstance) -> TrustRoot:
    return TrustRoot.from_json(sigstore_instance.trusted_root_json(), name="local")


def test_local_instance_attestation_verifies(sigstore_instance: SigstoreInstance,
                                             local_trust: TrustRoot) -> None:
    data = b"wheel bytes"
    att = make_attestation(sigstore_instance, data, WHEEL, WORKFLOW)
    publisher = GitHubPublisher("acme/widget", "release.yml", repository_owner_id="4242")
    [verified] = verify_attestations(_field(att), filename=WHEEL, sha256=_sha(data),
                                     publishers=[publisher], trust=local_trust)
    assert verified.sigstore.github.ref == "refs/tags/v1.0"
    with pytest.raises(IdentityMismatch, match="owner id"):  # same name, another owner
        verify_attestations(_field(make_attestation(sigstore_instance, data, WHEEL,
                                                    WORKFLOW.with_(owner_id="1"))),
                            filename=WHEEL, sha256=_sha(data), publishers=[publisher],
                            trust=local_trust)


def test_unknown_predicate_type_is_refused(sigstore_instance: SigstoreInstance,
                                           local_trust: TrustRoot) -> None:
    data = b"wheel bytes"
    att = make_attestation(sigstore_instance, data, WHEEL, WORKFLOW,
                           predicate_type="https://example.com/predicate/v1")
    with pytest.raises(InvalidAttestations, match="predicate type"):
        verify_attestations(_field(att), filename=WHEEL, sha256=_sha(data),
                            publishers=[GitHubPublisher("acme/widget", "release.yml")],
                            trust=local_trust)


def test_two_subjects_are_refused(sigstore_instance: SigstoreInstance,
                                  local_trust: TrustRoot) -> None:
    data = b"wheel bytes"
    subject = {"name": WHEEL, "digest": {"sha256": _sha(data)}}
    body = {"_type": "https://in-toto.io/Statement/v1", "subject": [subject, subject],
            "predicateType": PUBLISH_V1, "predicate": None}
    att = make_attestation(sigstore_instance, data, WHEEL, WORKFLOW, statement_override=body)
    with pytest.raises(DigestMismatch, match="exactly one subject"):
        verify_attestations(_field(att), filename=WHEEL, sha256=_sha(data),
                            publishers=[GitHubPublisher("acme/widget", "release.yml")],
                            trust=local_trust)


def test_production_attestation_is_refused_by_the_local_root(local_trust: TrustRoot) -> None:
    with pytest.raises(VerificationError):
        _verify(_field(_att(f"{SDIST}.publish.attestation")), trust=local_trust)
