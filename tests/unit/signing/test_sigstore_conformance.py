"""The sigstore-conformance `bundle-verify` suite (tests/data/signatures/conformance/):
every case passes or fails as its directory name says, each failure with a precise code."""

from __future__ import annotations

from pathlib import Path

import pytest

from signing.errors import VerificationError
from signing.policy import GenericIdentity
from signing.sigstore import verify_bundle
from signing.trust import TrustRoot

from .conftest import DATA, sha256_file

SUITE = DATA / "conformance"
DEFAULT_IDENTITY = (
    "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/"
    ".github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main"
)
DEFAULT_ISSUER = "https://token.actions.githubusercontent.com"

# Cases the conformance repo itself marks xfail for sigstore-python: intoto/0.0.2 entries and an
# inclusive TSA validity end are unsupported by sigstore-python 4.5.1. We refuse them, with
# these codes, rather than pass them.
KNOWN_LIBRARY_GAPS = {
    "intoto-with-custom-trust-root": "signature_unsupported",
    "trust-root-tsa-validity-end-inclusive": "timestamp_invalid",
}

# The precise reason each negative case must be refused with.
EXPECTED_CODES = {
    "bundle-empty-certificate-chain_fail": "signature_malformed",
    "bundle-from-wrong-instance_fail": "certificate_invalid",
    "bundle-invalid-base64-signature_fail": "signature_malformed",
    "bundle-malformed-json_fail": "signature_malformed",
    "bundle-negative-log-index_fail": "signature_malformed",
    "bundle-unknown-version_fail": "signature_malformed",
    "bundle-with-root-cert_fail": "signature_malformed",
    "checkpoint-bad-keyhint_fail": "tlog_invalid",
    "checkpoint-wrong-roothash_fail": "tlog_invalid",
    "dsse-invalid-sig_fail": "signature_invalid",
    "dsse-mismatch-envelope_fail": "tlog_invalid",
    "dsse-mismatch-sig_fail": "tlog_invalid",
    "inclusion-proof-corrupted-hash_fail": "tlog_invalid",
    "incorrect-public-key_fail": "tlog_invalid",
    "integrated-time-in-future_fail": "certificate_invalid",
    "intoto-expired-certificate_fail": "signature_unsupported",
    "intoto-log-entry-mismatch_fail": "signature_unsupported",
    "intoto-missing-inclusion-proof_fail": "signature_unsupported",
    "intoto-set-outside-signing-cert-validity_fail": "signature_unsupported",
    "intoto-tsa-timestamp-outside-cert-validity_fail": "signature_unsupported",
    "invalid-checkpoint-signature_fail": "tlog_invalid",
    "invalid-ct-key_fail": "certificate_invalid",
    "invalid-inclusion-proof_fail": "signature_malformed",
    "managed-key-no-key_fail": "signature_unsupported",
    "message-digest-mismatch_fail": "artifact_mismatch",
    "rekor2-checkpoint-missing-log-signature_fail": "tlog_invalid",
    "rekor2-checkpoint-missing-origin_fail": "tlog_invalid",
    "rekor2-checkpoint-missing-root-hash_fail": "tlog_invalid",
    "rekor2-checkpoint-missing-size_fail": "tlog_invalid",
    "rekor2-checkpoint-no-matching-signature_fail": "tlog_invalid",
    "rekor2-dsse-invalid-sig_fail": "signature_invalid",
    "rekor2-dsse-mismatch-envelope_fail": "tlog_invalid",
    "rekor2-dsse-mismatch-sig_fail": "tlog_invalid",
    "rekor2-no-inclusion-proof_fail": "signature_malformed",
    "rekor2-no-timestamp_fail": "signature_malformed",
    "rekor2-timestamp-outside-trust-root-tsa-validity_fail": "timestamp_invalid",
    "rekor2-timestamp-outside-tsa-cert-validity_fail": "timestamp_invalid",
    "rekor2-timestamp-payload-mismatch_fail": "timestamp_invalid",
    "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail": "signature_malformed",
    "rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail": "timestamp_invalid",
    "rekor2-timestamp-with-incorrect-time_fail": "certificate_invalid",
    "set-invalid-signature_fail": "tlog_invalid",
    "signature-mismatch_fail": "signature_invalid",
    "trust-root-tlog-missing-validity-start_fail": "trust_root_invalid",
    "wrong-hashedrekord-artifact_fail": "artifact_mismatch",
    "wrong-hashedrekord-cert-and-sig_fail": "tlog_invalid",
    "wrong-hashedrekord-entry_fail": "artifact_mismatch",
    "wrong-material_fail": "artifact_mismatch",
}

# Cases verified with a managed key (key.pub) instead of a certificate identity: Vouch only
# accepts keyless (Fulcio) bundles, so they are refused as unsupported whatever they contain.
MANAGED_KEY = {"managed-key-and-trusted-root", "managed-key-happy-path",
               "managed-key-wrong-key_fail"}

CASES = sorted(p.name for p in SUITE.iterdir() if p.is_dir())


def _read(case: Path, name: str, default: str) -> str:
    path = case / name
    return path.read_text().strip() if path.exists() else default


def _verify(name: str):
    case = SUITE / name
    artifact = case / "artifact" if (case / "artifact").exists() else SUITE / "a.txt"
    root_file = case / "trusted_root.json"
    trust = TrustRoot.from_file(root_file) if root_file.exists() else TrustRoot.public_good()
    policy = GenericIdentity(san=_read(case, "identity", DEFAULT_IDENTITY),
                             issuer=_read(case, "issuer", DEFAULT_ISSUER))
    return verify_bundle((case / "bundle.sigstore.json").read_bytes(), sha256_file(artifact),
                         None, policy, trust)


def test_suite_is_complete():
    assert len(CASES) == 70
    assert set(EXPECTED_CODES) | set(KNOWN_LIBRARY_GAPS) | MANAGED_KEY >= {
        c for c in CASES if c.endswith("_fail")}


@pytest.mark.parametrize("name", CASES)
def test_conformance_case(name):
    if name in MANAGED_KEY:
        with pytest.raises(VerificationError) as info:
            _verify(name)
        assert info.value.code == "signature_unsupported"
        return
    if name in KNOWN_LIBRARY_GAPS:
        with pytest.raises(VerificationError) as info:
            _verify(name)
        assert info.value.code == KNOWN_LIBRARY_GAPS[name]
        return
    if name.endswith("_fail"):
        with pytest.raises(VerificationError) as info:
            _verify(name)
        assert info.value.code == EXPECTED_CODES[name], str(info.value)
    else:
        verified = _verify(name)
        assert verified.identity == _read(SUITE / name, "identity", DEFAULT_IDENTITY)
