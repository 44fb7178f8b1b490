"""The real sigstore-python 4.5.1 refuses the instance's bad cases, each for its own reason."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sigstore.errors import CertValidationError, VerificationError
from sigstore.models import Bundle, TrustedRoot
from sigstore.verify import Verifier, policy

from tests.support.sigstore_local import Fault, GitHubIdentity, SigstoreInstance


@pytest.fixture
def verifier(sigstore_trusted_root_path: Path) -> Verifier:
    return Verifier(trusted_root=TrustedRoot.from_file(str(sigstore_trusted_root_path)))


def trusted_publisher(ident: GitHubIdentity) -> policy.AllOf:
    """Pin what a registry's trusted publisher pins: issuer, repository, workflow file, ref."""
    return policy.AllOf(
        [
            policy.OIDCIssuerV2(ident.issuer),
            policy.OIDCSourceRepositoryURI(ident.source_repository_uri),
            policy.OIDCBuildConfigURI(ident.build_config_uri),
        ]
    )


# (fault, the exception sigstore-python raises, a fragment of its message)
OFFLINE_DETECTED = [
    (Fault.CERT_EXPIRED_AT_LOG_TIME, CertValidationError, "not valid at validation time"),
    (Fault.CERT_NOT_YET_VALID_AT_LOG_TIME, CertValidationError, "not valid at validation time"),
    (Fault.TAMPERED_INCLUSION_PROOF, VerificationError, "inclusion proof"),
    (Fault.TAMPERED_CHECKPOINT, VerificationError, "checkpoint: invalid signature"),
    (Fault.TAMPERED_SET, VerificationError, "SET: invalid inclusion promise"),
    (Fault.UNTRUSTED_CA, CertValidationError, "failed to build"),
    (Fault.UNTRUSTED_CT_LOG, VerificationError, "SCT verify failed"),
    (Fault.NO_SCT, VerificationError, "does not contain a signed certificate timestamp"),
]


@pytest.mark.parametrize(("fault", "error", "message"), OFFLINE_DETECTED,
                         ids=[f.value for f, _, _ in OFFLINE_DETECTED])
@pytest.mark.parametrize("kind", ["hashedrekord", "dsse"])
def test_fault_is_rejected_offline(
    sigstore_instance: SigstoreInstance, verifier: Verifier, github_identity: GitHubIdentity,
    fault: Fault, error: type[Exception], message: str, kind: str,
) -> None:
    data = f"{fault.value} {kind}".encode()
    raw = sigstore_instance.sign_artifact(data, github_identity, kind=kind,  # type: ignore[arg-type]
                                          fault=fault)
    bundle = Bundle.from_json(raw)
    with pytest.raises(error, match=message):
        if kind == "dsse":
            verifier.verify_dsse(bundle, trusted_publisher(github_identity))
        else:
            verifier.verify_artifact(data, bundle, trusted_publisher(github_identity))


def test_tampered_proof_is_rejected_even_for_the_first_leaf(
    fresh_sigstore_instance: SigstoreInstance, tmp_path: Path, github_identity: GitHubIdentity
) -> None:
    # A 1-leaf tree has an empty proof path; the root hash is what gets tampered.
    raw = fresh_sigstore_instance.sign_artifact(
        b"first", github_identity, fault=Fault.TAMPERED_INCLUSION_PROOF
    )
    root = fresh_sigstore_instance.write_trusted_root(tmp_path / "tr.json")
    with pytest.raises(VerificationError, match="inclusion proof"):
        Verifier(trusted_root=TrustedRoot.from_file(str(root))).verify_artifact(
            b"first", Bundle.from_json(raw), trusted_publisher(github_identity)
        )


@pytest.mark.parametrize(
    "signer_change",
    [
        {"repository": "mallory/widget"},
        {"workflow": "other.yml"},
        {"ref": "refs/heads/feature"},
        {"issuer": "https://evil.example.com"},
    ],
    ids=["repository", "workflow", "ref", "issuer"],
)
def test_wrong_identity_is_rejected_by_policy(
    sigstore_instance: SigstoreInstance, verifier: Verifier, github_identity: GitHubIdentity,
    signer_change: dict[str, str],
) -> None:
    signer = github_identity.with_(**signer_change)
    raw = sigstore_instance.sign_artifact(b"who signed this", signer)
    bundle = Bundle.from_json(raw)
    # The signer's own identity verifies: the bundle is sound, only the identity differs.
    verifier.verify_artifact(b"who signed this", bundle, trusted_publisher(signer))
    with pytest.raises(VerificationError):
        verifier.verify_artifact(b"who signed this", bundle, trusted_publisher(github_identity))
    with pytest.raises(VerificationError):
        verifier.verify_artifact(
            b"who signed this", bundle,
            policy.Identity(identity=github_identity.san, issuer=github_identity.issuer),
        )


def test_tampered_artifact_is_rejected(
    sigstore_instance: SigstoreInstance, verifier: Verifier, github_identity: GitHubIdentity
) -> None:
    raw = sigstore_instance.sign_artifact(b"original bytes", github_identity)
    with pytest.raises(VerificationError, match="Bundle message digest mismatch"):
        verifier.verify_artifact(b"original bytez", Bundle.from_json(raw),
                                 trusted_publisher(github_identity))


def test_bundle_for_another_artifact_is_rejected(
    sigstore_instance: SigstoreInstance, verifier: Verifier, github_identity: GitHubIdentity
) -> None:
    other = sigstore_instance.sign_artifact(b"widget-0.9.0", github_identity)
    with pytest.raises(VerificationError, match="digest mismatch"):
        verifier.verify_artifact(b"widget-1.0.0", Bundle.from_json(other),
                                 trusted_publisher(github_identity))


def test_bundle_of_another_instance_is_rejected(
    sigstore_instance: SigstoreInstance, fresh_sigstore_instance: SigstoreInstance,
    verifier: Verifier, github_identity: GitHubIdentity,
) -> None:
    raw = fresh_sigstore_instance.sign_artifact(b"elsewhere", github_identity)
    with pytest.raises(CertValidationError):
        verifier.verify_artifact(b"elsewhere", Bundle.from_json(raw),
                                 trusted_publisher(github_identity))


def test_unlogged_entry_passes_offline_but_the_log_does_not_know_it(
    sigstore_instance: SigstoreInstance, verifier: Verifier, github_identity: GitHubIdentity
) -> None:
    # A split view: every signature is the log's own, so only an online lookup can tell.
    result = sigstore_instance.sign(b"never logged", github_identity, fault=Fault.UNLOGGED_ENTRY)
    verifier.verify_artifact(b"never logged", Bundle.from_json(result.bundle_json),
                             trusted_publisher(github_identity))
    assert not result.logged
    base = sigstore_instance.rekor_url
    assert httpx.get(f"{base}/api/v1/log/entries/{result.entry_id}").status_code == 404
    found = httpx.post(f"{base}/api/v1/index/retrieve",
                       json={"hash": f"sha256:{_sha256(b'never logged')}"}).json()
    assert result.entry_id not in found


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()
