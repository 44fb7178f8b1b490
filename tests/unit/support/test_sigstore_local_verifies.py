"""The real sigstore-python 4.5.1 accepts what the private instance signs."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sigstore.hashes import Hashed
from sigstore.models import Bundle, ClientTrustConfig, TrustedRoot
from sigstore.verify import Verifier, policy
from sigstore_models.common.v1 import HashAlgorithm

from tests.support.sigstore_local import GitHubIdentity, SigstoreInstance


@pytest.fixture
def verifier(sigstore_trusted_root_path: Path) -> Verifier:
    return Verifier(trusted_root=TrustedRoot.from_file(str(sigstore_trusted_root_path)))


def github_policy(ident: GitHubIdentity) -> policy.AllOf:
    """Everything a trusted-publisher check could pin, as sigstore-python policies."""
    return policy.AllOf(
        [
            policy.Identity(identity=ident.san, issuer=ident.issuer),
            policy.OIDCIssuerV2(ident.issuer),
            policy.GitHubWorkflowRepository(ident.repository),
            policy.GitHubWorkflowRef(ident.ref),
            policy.GitHubWorkflowTrigger(ident.trigger),
            policy.GitHubWorkflowSHA(ident.sha),
            policy.GitHubWorkflowName(ident.workflow_name),
            policy.OIDCSourceRepositoryURI(f"https://github.com/{ident.repository}"),
            policy.OIDCSourceRepositoryRef(ident.ref),
            policy.OIDCSourceRepositoryDigest(ident.sha),
            policy.OIDCBuildConfigURI(
                f"https://github.com/{ident.repository}/.github/workflows/{ident.workflow}"
                f"@{ident.ref}"
            ),
            policy.OIDCBuildSignerURI(ident.san),
            policy.OIDCBuildTrigger(ident.trigger),
            policy.OIDCRunnerEnvironment("github-hosted"),
            policy.OIDCSourceRepositoryVisibility("public"),
            policy.OIDCSourceRepositoryOwnerURI(f"https://github.com/{ident.owner}"),
        ]
    )


@pytest.mark.parametrize("bundle_version", ["0.1", "0.2", "0.3"])
def test_hashedrekord_bundle_verifies(
    sigstore_instance: SigstoreInstance, verifier: Verifier, github_identity: GitHubIdentity,
    bundle_version: str,
) -> None:
    data = f"artifact for bundle {bundle_version}".encode()
    raw = sigstore_instance.sign_artifact(data, github_identity, bundle_version=bundle_version)
    bundle = Bundle.from_json(raw)
    verifier.verify_artifact(data, bundle, github_policy(github_identity))
    assert json.loads(raw)["mediaType"] == Bundle.BundleType(bundle._inner.media_type).value


def test_hashedrekord_verifies_from_a_prehashed_digest(
    sigstore_instance: SigstoreInstance, verifier: Verifier, github_identity: GitHubIdentity
) -> None:
    data = b"streamed upload"
    raw = sigstore_instance.sign_artifact(data, github_identity)
    digest = Hashed(algorithm=HashAlgorithm.SHA2_256, digest=hashlib.sha256(data).digest())
    verifier.verify_artifact(digest, Bundle.from_json(raw), github_policy(github_identity))


@pytest.mark.parametrize("bundle_version", ["0.1", "0.2", "0.3"])
def test_dsse_bundle_verifies_and_carries_the_subject(
    sigstore_instance: SigstoreInstance, verifier: Verifier, github_identity: GitHubIdentity,
    bundle_version: str,
) -> None:
    data = f"dsse artifact {bundle_version}".encode()
    raw = sigstore_instance.sign_artifact(
        data, github_identity, kind="dsse", name="widget-1.0.0.tgz",
        bundle_version=bundle_version,
    )
    payload_type, payload = verifier.verify_dsse(
        Bundle.from_json(raw), github_policy(github_identity)
    )
    assert payload_type == "application/vnd.in-toto+json"
    statement = json.loads(payload)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["subject"] == [
        {"name": "widget-1.0.0.tgz", "digest": {"sha256": hashlib.sha256(data).hexdigest()}}
    ]


def test_reusable_workflow_identity_separates_signer_from_config(
    sigstore_instance: SigstoreInstance, verifier: Verifier
) -> None:
    ident = GitHubIdentity(
        repository="acme/widget", workflow="release.yml",
        job_workflow_ref="acme/shared/.github/workflows/sign.yml@refs/heads/main",
    )
    raw = sigstore_instance.sign_artifact(b"reusable", ident)
    verifier.verify_artifact(
        b"reusable", Bundle.from_json(raw),
        policy.AllOf([
            policy.Identity(identity=ident.san, issuer=ident.issuer),
            policy.OIDCBuildSignerURI(
                "https://github.com/acme/shared/.github/workflows/sign.yml@refs/heads/main"),
            policy.OIDCBuildConfigURI(
                "https://github.com/acme/widget/.github/workflows/release.yml@refs/tags/v1.0.0"),
        ]),
    )


def test_certificate_expired_now_still_verifies_at_log_time(
    sigstore_instance: SigstoreInstance, verifier: Verifier, github_identity: GitHubIdentity
) -> None:
    # Keyless certificates live 10 minutes; what counts is validity at the logged time.
    signed_at = datetime.now(UTC) - timedelta(days=2)
    raw = sigstore_instance.sign_artifact(b"old release", github_identity, signed_at=signed_at)
    bundle = Bundle.from_json(raw)
    assert bundle.signing_certificate.not_valid_after_utc < datetime.now(UTC)
    verifier.verify_artifact(b"old release", bundle, github_policy(github_identity))


def test_instance_without_intermediate_verifies(
    tmp_path: Path, github_identity: GitHubIdentity
) -> None:
    inst = SigstoreInstance.create(intermediate=False)
    root = inst.write_trusted_root(tmp_path / "trusted_root.json")
    raw = inst.sign_artifact(b"no intermediate", github_identity)
    Verifier(trusted_root=TrustedRoot.from_file(str(root))).verify_artifact(
        b"no intermediate", Bundle.from_json(raw),
        policy.Identity(identity=github_identity.san, issuer=github_identity.issuer),
    )


def test_client_trust_config_and_in_memory_root_load(
    fresh_sigstore_instance: SigstoreInstance, github_identity: GitHubIdentity
) -> None:
    raw = fresh_sigstore_instance.sign_artifact(b"ctc", github_identity, kind="dsse")
    pol = policy.Identity(identity=github_identity.san, issuer=github_identity.issuer)
    config = ClientTrustConfig.from_json(fresh_sigstore_instance.client_trust_config_json())
    Verifier(trusted_root=config.trusted_root).verify_dsse(Bundle.from_json(raw), pol)
    in_memory = fresh_sigstore_instance.sigstore_trusted_root()
    Verifier(trusted_root=in_memory).verify_dsse(Bundle.from_json(raw), pol)


def test_sigstore_cli_verifies_with_the_client_trust_config(
    sigstore_instance: SigstoreInstance, github_identity: GitHubIdentity, tmp_path: Path
) -> None:
    # The CLI's `verify github` reads the legacy 1.2-1.6 extensions; checked offline.
    import subprocess
    import sys

    artifact = tmp_path / "widget.tgz"
    artifact.write_bytes(b"cli artifact")
    bundle = tmp_path / "widget.tgz.sigstore.json"
    bundle.write_bytes(sigstore_instance.sign_artifact(artifact.read_bytes(), github_identity))
    config = tmp_path / "trust_config.json"
    config.write_text(sigstore_instance.client_trust_config_json())

    def verify(repository: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sigstore", "--trust-config", str(config), "verify",
             "github", "--bundle", str(bundle), "--cert-identity", github_identity.san,
             "--repository", repository, "--ref", github_identity.ref,
             "--trigger", github_identity.trigger, str(artifact)],
            capture_output=True, text=True, timeout=60,
            env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
        )

    ok = verify(github_identity.repository)
    assert ok.returncode == 0, ok.stderr
    assert "OK" in ok.stderr + ok.stdout
    wrong = verify("mallory/widget")
    assert wrong.returncode != 0
