"""Real public-good / staging bundles and attestations verify (or fail) exactly as
tests/data/signatures/MANIFEST.md says, offline, against the roots pinned in `signing`."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime

import pytest

from signing.bundle import attestations_from_provenance
from signing.errors import (
    DigestMismatch,
    IdentityMismatch,
    MalformedSignature,
    PolicyError,
    UnsupportedSignature,
)
from signing.policy import AnyOf, GenericIdentity, GitHubPublisher
from signing.sigstore import verify_bundle
from signing.trust import TrustRoot

from .conftest import DATA, sha256_file

GHA = "https://token.actions.githubusercontent.com"
GH_OAUTH = "https://github.com/login/oauth"
BEACON = (
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
    ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
)
RFC8785_ID = "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"
PA19_ID = (
    "https://github.com/trailofbits/pypi-attestations/.github/workflows/release.yml"
    "@refs/tags/v0.0.19"
)

# (bundle, artifact or None for "the DSSE subject", identity, issuer, instance)
PASSING = [
    ("sigstore-python/bundle_v3_github.whl.sigstore", "sigstore-python/bundle_v3_github.whl",
     RFC8785_ID, GHA, "prod"),
    ("sigstore-python/bundle.txt.sigstore", "sigstore-python/bundle.txt",
     "a@tny.town", GH_OAUTH, "staging"),
    ("sigstore-python/bundle_v3.txt.sigstore", "sigstore-python/bundle_v3.txt",
     "william@yossarian.net", GH_OAUTH, "staging"),
    ("sigstore-python/bundle_v3_alt.txt.sigstore", "sigstore-python/bundle_v3_alt.txt",
     "william@yossarian.net", GH_OAUTH, "staging"),
    ("sigstore-python/staging-rekor-v2.txt.sigstore.json", "sigstore-python/staging-rekor-v2.txt",
     "jku@goto.fi", GH_OAUTH, "staging"),
    ("sigstore-python/a.dsse.staging-rekor-v2.txt.sigstore.json", None, BEACON, GHA, "staging"),
    ("sigstore-python/tsa/bundle.txt.sigstore", "sigstore-python/tsa/bundle.txt",
     "alexis.challande@trailofbits.com", "https://accounts.google.com", "staging"),
    ("conformance/happy-path-v0.1/bundle.sigstore.json", "conformance/a.txt", BEACON, GHA, "prod"),
    ("conformance/happy-path-v0.2/bundle.sigstore.json", "conformance/a.txt", BEACON, GHA, "prod"),
    ("conformance/happy-path-v0.3/bundle.sigstore.json", "conformance/a.txt", BEACON, GHA, "prod"),
    ("conformance/happy-path-v0.3-new-mediaType/bundle.sigstore.json", "conformance/a.txt",
     BEACON, GHA, "prod"),
    ("conformance/happy-path-intoto-in-dsse-v3/bundle.sigstore.json", None, BEACON, GHA, "prod"),
    ("sigstore-js/bundleV03-dsse.sigstore", None, "brian@dehamer.com", GH_OAUTH, "prod"),
    ("pypi-attestations/pypi_attestations-0.0.19.tar.gz.publish.attestation",
     "pypi-attestations/pypi_attestations-0.0.19.tar.gz", PA19_ID, GHA, "prod"),
    ("pypi-attestations/pypi_attestations-0.0.19.tar.gz.slsa.attestation",
     "pypi-attestations/pypi_attestations-0.0.19.tar.gz", PA19_ID, GHA, "prod"),
    ("pypi-attestations/pypi_attestation_models-0.0.4a2.tar.gz.attestation",
     "pypi-attestations/pypi_attestation_models-0.0.4a2.tar.gz",
     "https://github.com/trailofbits/pypi-attestation-models/.github/workflows/release.yml"
     "@refs/tags/v0.0.4a2", GHA, "prod"),
    ("pypi-attestations/gitlab_oidc_project-0.0.3.tar.gz.publish.attestation",
     "pypi-attestations/gitlab_oidc_project-0.0.3.tar.gz",
     "https://gitlab.com/facutuesca/gitlab-oidc-project//.gitlab-ci.yml@refs/heads/main",
     "https://gitlab.com", "prod"),
    ("pypi-attestations/rfc8785-0.1.2-py3-none-any.whl.publish.attestation",
     "pypi-attestations/rfc8785-0.1.2-py3-none-any.whl", "william@yossarian.net", GH_OAUTH,
     "staging"),
]


def _root(instance: str) -> TrustRoot:
    return TrustRoot.public_good() if instance == "prod" else TrustRoot.staging()


def _subject_digests(bundle_path: str) -> dict[str, str]:
    doc = json.loads((DATA / bundle_path).read_bytes())
    statement = json.loads(base64.b64decode(doc["dsseEnvelope"]["payload"]))
    digests: dict[str, str] = statement["subject"][0]["digest"]
    return digests


def _digests(bundle_path: str, artifact: str | None) -> tuple[str, str | None, str | None]:
    """(sha256, sha512, name) of the artifact; for DSSE rows, of the statement's subject."""
    if artifact is not None:
        path = DATA / artifact
        return sha256_file(path), hashlib.sha512(path.read_bytes()).hexdigest(), path.name
    digests = _subject_digests(bundle_path)
    # A subject with only sha512 (npm): any sha256 will do, the sha512 is what is checked.
    return digests.get("sha256", "0" * 64), digests.get("sha512"), None


@pytest.mark.parametrize(("bundle", "artifact", "identity", "issuer", "instance"), PASSING,
                         ids=[row[0] for row in PASSING])
def test_manifest_bundle_verifies(bundle, artifact, identity, issuer, instance):
    sha256, sha512, name = _digests(bundle, artifact)
    verified = verify_bundle(
        (DATA / bundle).read_bytes(), sha256, name,
        GenericIdentity(san=identity, issuer=issuer), _root(instance), artifact_sha512=sha512,
    )
    assert verified.identity == identity
    assert verified.issuer == issuer
    assert verified.method == "sigstore"
    assert verified.integrated_time is not None
    assert verified.integrated_time < datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(("bundle", "artifact", "identity", "issuer", "instance"), PASSING,
                         ids=[row[0] for row in PASSING])
def test_manifest_bundle_refused_for_other_identity(bundle, artifact, identity, issuer, instance):
    sha256, sha512, name = _digests(bundle, artifact)
    with pytest.raises(IdentityMismatch):
        verify_bundle((DATA / bundle).read_bytes(), sha256, name,
                      GenericIdentity(san=identity + "x", issuer=issuer), _root(instance),
                      artifact_sha512=sha512)
    with pytest.raises(IdentityMismatch):
        verify_bundle((DATA / bundle).read_bytes(), sha256, name,
                      GenericIdentity(san=identity, issuer="https://evil.example"),
                      _root(instance), artifact_sha512=sha512)


@pytest.mark.parametrize(("bundle", "artifact", "identity", "issuer", "instance"), PASSING,
                         ids=[row[0] for row in PASSING])
def test_manifest_bundle_refused_for_another_artifact(bundle, artifact, identity, issuer,
                                                      instance):
    other = hashlib.sha256(b"another artifact").hexdigest()
    other512 = hashlib.sha512(b"another artifact").hexdigest()
    with pytest.raises(DigestMismatch) as info:
        verify_bundle((DATA / bundle).read_bytes(), other, None,
                      GenericIdentity(san=identity, issuer=issuer), _root(instance),
                      artifact_sha512=other512)
    assert info.value.code == "artifact_mismatch"


def test_production_bundle_for_the_wrong_instance_is_refused():
    bundle = DATA / "sigstore-python/bundle_v3_github.whl.sigstore"
    whl = DATA / "sigstore-python/bundle_v3_github.whl"
    with pytest.raises(Exception) as info:
        verify_bundle(bundle.read_bytes(), sha256_file(whl), None,
                      GenericIdentity(san=RFC8785_ID, issuer=GHA), TrustRoot.staging())
    assert info.value.code == "certificate_invalid"


def test_rfc8785_wheel_reports_github_claims():
    whl = DATA / "sigstore-python/bundle_v3_github.whl"
    verified = verify_bundle(
        (DATA / "sigstore-python/bundle_v3_github.whl.sigstore").read_bytes(),
        sha256_file(whl), whl.name,
        GitHubPublisher("trailofbits/rfc8785.py", "release.yml", ref_pattern="refs/tags/v*"),
        TrustRoot.public_good(),
    )
    assert verified.identity == RFC8785_ID
    assert verified.github is not None
    assert verified.github.repository == "trailofbits/rfc8785.py"
    assert verified.github.ref == "refs/tags/v0.1.2"
    assert verified.github.trigger == "release"
    assert verified.github.sha is not None and verified.github.sha.startswith("d8b4a644")
    assert verified.github.workflow_ref == (
        "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"
    )
    assert verified.entry_kind == "hashedrekord"
    assert verified.log_index > 0
    assert verified.log_id == TrustRoot.public_good().tlog_keys()[0].key_id.hex()

@pytest.mark.parametrize(
    ("publisher", "reason"),
    [
        (GitHubPublisher("trailofbits/other.py", "release.yml"), "source repository"),
        (GitHubPublisher("trailofbits/rfc8785.py", "ci.yml"), "build config"),
        (GitHubPublisher("trailofbits/rfc8785.py", "release.yml", ref_pattern="refs/heads/*"),
         "ref is"),
        (GitHubPublisher("trailofbits/rfc8785.py", "release.yml", ref_pattern="refs/tags/v2*"),
         "ref is"),
    ],
)
def test_rfc8785_wheel_refused_for_other_trusted_publisher(publisher, reason):
    whl = DATA / "sigstore-python/bundle_v3_github.whl"
    with pytest.raises(IdentityMismatch, match=reason):
        verify_bundle((DATA / "sigstore-python/bundle_v3_github.whl.sigstore").read_bytes(),
                      sha256_file(whl), whl.name, publisher, TrustRoot.public_good())


def test_pep740_attestation_checks_subject_name():
    dist = DATA / "pypi-attestations/pypi_attestations-0.0.19.tar.gz"
    att = (DATA / "pypi-attestations/pypi_attestations-0.0.19.tar.gz.publish.attestation")
    policy = GitHubPublisher("trailofbits/pypi-attestations", "release.yml")
    verified = verify_bundle(att.read_bytes(), sha256_file(dist), dist.name, policy,
                             TrustRoot.public_good())
    assert verified.entry_kind == "dsse"
    assert verified.predicate_type == "https://docs.pypi.org/attestations/publish/v1"
    with pytest.raises(DigestMismatch, match="subject is"):
        verify_bundle(att.read_bytes(), sha256_file(dist), "pypi_attestations-0.0.20.tar.gz",
                      policy, TrustRoot.public_good())


def test_pep740_provenance_object_attestations_all_verify():
    dist = DATA / "pypi-attestations/pypi_attestations-0.0.19.tar.gz"
    raw = (DATA / "pypi-attestations/pypi_attestations-0.0.19.tar.gz.provenance").read_bytes()
    attestations = attestations_from_provenance(raw)
    assert attestations
    for att in attestations:
        verified = verify_bundle(att, sha256_file(dist), dist.name,
                                 GitHubPublisher("trailofbits/pypi-attestations", "release.yml"),
                                 TrustRoot.public_good())
        assert verified.identity == PA19_ID


@pytest.mark.parametrize(
    ("bundle", "error", "code"),
    [
        # MANIFEST: FAIL InvalidBundle (v0.1 without a checkpoint)
        ("sigstore-python/integration/Python-3.12.5.tgz.sigstore", MalformedSignature,
         "signature_malformed"),
        # MANIFEST: FAIL intoto/0.0.2 is unsupported by sigstore-python 4.5.1
        ("sigstore-js/bundleV03-intoto.sigstore", UnsupportedSignature, "signature_unsupported"),
        ("sigstore-js/bundleV02-intoto.sigstore", UnsupportedSignature, "signature_unsupported"),
        ("sigstore-python/bundle_invalid_version.txt.sigstore", MalformedSignature,
         "signature_malformed"),
        ("sigstore-python/bundle_no_log_entry.txt.sigstore", MalformedSignature,
         "signature_malformed"),
        ("sigstore-python/bundle_no_checkpoint.txt.sigstore", MalformedSignature,
         "signature_malformed"),
    ],
)
def test_manifest_failures_fail_with_their_reason(bundle, error, code):
    with pytest.raises(error) as info:
        verify_bundle((DATA / bundle).read_bytes(), "0" * 64, None,
                      GenericIdentity(san="x@example.com", issuer=GH_OAUTH),
                      TrustRoot.public_good())
    assert info.value.code == code


def test_cve_2022_36056_bundle_is_refused():
    """sigstore-python's regression asset: a log entry for another signature."""
    bundle = DATA / "sigstore-python/bundle_cve_2022_36056.txt.sigstore"
    with pytest.raises(Exception) as info:
        verify_bundle(bundle.read_bytes(),
                      sha256_file(DATA / "sigstore-python/bundle_cve_2022_36056.txt"), None,
                      GenericIdentity(san_regex=".*", issuer=GH_OAUTH), TrustRoot.staging())
    assert info.value.code in {"tlog_invalid", "artifact_mismatch", "signature_invalid"}


@pytest.mark.parametrize("raw", [b"", b"not json", b"[]", b"{}", b'{"mediaType": 1}',
                                 b"\xff\xfe", b'{"version": 1, "envelope": {}}'])
def test_garbage_bundles_are_malformed(raw):
    with pytest.raises(MalformedSignature):
        verify_bundle(raw, "0" * 64, None, GenericIdentity(san="a@b.c", issuer=GH_OAUTH),
                      TrustRoot.public_good())


@pytest.mark.parametrize("policy", [None, [], ()])
def test_empty_policy_is_an_error_not_a_pass(policy):
    bundle = DATA / "conformance/happy-path-v0.3/bundle.sigstore.json"
    with pytest.raises(PolicyError) as info:
        verify_bundle(bundle.read_bytes(), sha256_file(DATA / "conformance/a.txt"), None,
                      policy, TrustRoot.public_good())
    assert info.value.code == "policy_invalid"


def test_any_of_policies_accepts_one_matching_publisher():
    bundle = DATA / "conformance/happy-path-v0.3/bundle.sigstore.json"
    policy = AnyOf([GenericIdentity(san="someone@else", issuer=GHA),
                    GenericIdentity(san=BEACON, issuer=GHA)])
    verified = verify_bundle(bundle.read_bytes(), sha256_file(DATA / "conformance/a.txt"), None,
                             policy, TrustRoot.public_good())
    assert verified.identity == BEACON


def test_bad_digest_argument_is_refused():
    bundle = DATA / "conformance/happy-path-v0.3/bundle.sigstore.json"
    with pytest.raises(DigestMismatch):
        verify_bundle(bundle.read_bytes(), "xyz", None, GenericIdentity(san=BEACON, issuer=GHA),
                      TrustRoot.public_good())


def test_integrated_time_after_now_is_refused():
    """sigstore-python 4.5.1 accepts log times in the future; we compare with our clock."""
    bundle = DATA / "conformance/happy-path-v0.3/bundle.sigstore.json"
    with pytest.raises(Exception) as info:
        verify_bundle(bundle.read_bytes(), sha256_file(DATA / "conformance/a.txt"), None,
                      GenericIdentity(san=BEACON, issuer=GHA), TrustRoot.public_good(),
                      now=datetime(2020, 1, 1, tzinfo=UTC))
    assert info.value.code == "tlog_invalid"
