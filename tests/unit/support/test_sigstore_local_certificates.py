"""Leaf certificates carry Fulcio's GitHub Actions profile and a verifiable embedded SCT."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.certificate_transparency import LogEntryType
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.support.sigstore_local import CTLog, FulcioCA, GitHubIdentity, fulcio_extensions
from tests.support.sigstore_local import identity as oids

NOW = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def issued() -> tuple[x509.Certificate, FulcioCA, CTLog, GitHubIdentity]:
    ca, ct = FulcioCA.generate(NOW), CTLog.generate()
    ident = GitHubIdentity(repository="acme/widget", workflow="release.yml",
                           ref="refs/tags/v2.0.0", sha="b" * 40, trigger="release",
                           repository_id="123", owner_id="456", run_id="99")
    key = ec.generate_private_key(ec.SECP256R1())
    return ca.issue(key.public_key(), ident, not_before=NOW, ct_log=ct), ca, ct, ident


def _ext(cert: x509.Certificate, oid: str) -> bytes:
    value = cert.extensions.get_extension_for_oid(x509.ObjectIdentifier(oid)).value
    assert isinstance(value, x509.UnrecognizedExtension)
    return value.value


def test_leaf_profile(issued: tuple[x509.Certificate, FulcioCA, CTLog, GitHubIdentity]) -> None:
    cert, ca, _, _ = issued
    assert cert.subject == x509.Name([])
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.critical
    assert san.value.get_values_for_type(x509.UniformResourceIdentifier) == [
        "https://github.com/acme/widget/.github/workflows/release.yml@refs/tags/v2.0.0"
    ]
    assert cert.not_valid_after_utc - cert.not_valid_before_utc == timedelta(minutes=10)
    assert cert.extensions.get_extension_for_class(x509.KeyUsage).value.digital_signature
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CODE_SIGNING]
    assert cert.issuer == ca.issuer.subject
    cert.verify_directly_issued_by(ca.issuer)
    ca.issuer.verify_directly_issued_by(ca.root)


def test_fulcio_extensions_hold_the_github_claims(
    issued: tuple[x509.Certificate, FulcioCA, CTLog, GitHubIdentity],
) -> None:
    cert, _, _, _ = issued
    raw = {  # deprecated 1.1-1.6: raw UTF-8
        oids.OID_ISSUER_LEGACY: b"https://token.actions.githubusercontent.com",
        oids.OID_GITHUB_WORKFLOW_TRIGGER: b"release",
        oids.OID_GITHUB_WORKFLOW_SHA: b"b" * 40,
        oids.OID_GITHUB_WORKFLOW_REPOSITORY: b"acme/widget",
        oids.OID_GITHUB_WORKFLOW_REF: b"refs/tags/v2.0.0",
    }
    for oid, value in raw.items():
        assert _ext(cert, oid) == value
    der = {  # 1.8-1.22: DER UTF8String
        oids.OID_ISSUER_V2: "https://token.actions.githubusercontent.com",
        oids.OID_BUILD_SIGNER_URI:
            "https://github.com/acme/widget/.github/workflows/release.yml@refs/tags/v2.0.0",
        oids.OID_BUILD_SIGNER_DIGEST: "b" * 40,
        oids.OID_RUNNER_ENVIRONMENT: "github-hosted",
        oids.OID_SOURCE_REPOSITORY_URI: "https://github.com/acme/widget",
        oids.OID_SOURCE_REPOSITORY_DIGEST: "b" * 40,
        oids.OID_SOURCE_REPOSITORY_REF: "refs/tags/v2.0.0",
        oids.OID_SOURCE_REPOSITORY_IDENTIFIER: "123",
        oids.OID_SOURCE_REPOSITORY_OWNER_URI: "https://github.com/acme",
        oids.OID_SOURCE_REPOSITORY_OWNER_IDENTIFIER: "456",
        oids.OID_BUILD_CONFIG_URI:
            "https://github.com/acme/widget/.github/workflows/release.yml@refs/tags/v2.0.0",
        oids.OID_BUILD_CONFIG_DIGEST: "b" * 40,
        oids.OID_BUILD_TRIGGER: "release",
        oids.OID_RUN_INVOCATION_URI: "https://github.com/acme/widget/actions/runs/99/attempts/1",
        oids.OID_SOURCE_REPOSITORY_VISIBILITY: "public",
    }
    for oid, text in der.items():
        value = _ext(cert, oid)
        assert value[0] == 0x0C and value[1] == len(text.encode())  # UTF8String, short form
        assert value[2:].decode() == text


def test_embedded_sct_is_a_precert_sct_from_the_ct_log(
    issued: tuple[x509.Certificate, FulcioCA, CTLog, GitHubIdentity],
) -> None:
    cert, ca, ct, _ = issued
    scts = cert.extensions.get_extension_for_class(
        x509.PrecertificateSignedCertificateTimestamps).value
    assert len(scts) == 1
    sct = scts[0]
    assert sct.entry_type == LogEntryType.PRE_CERTIFICATE
    assert sct.log_id == ct.log_id
    assert sct.timestamp.replace(tzinfo=UTC) == NOW
    # verify the SCT signature the way a CT client does (sigstore-python's own packer)
    from sigstore._internal.sct import _pack_digitally_signed
    from sigstore._utils import KeyID, key_id

    signed = _pack_digitally_signed(sct, cert, KeyID(key_id(ca.issuer.public_key())))
    ct.public_key.verify(sct.signature, signed, ec.ECDSA(sct.signature_hash_algorithm))


def test_long_values_use_long_form_der_lengths() -> None:
    ident = GitHubIdentity(repository="acme/" + "w" * 200)
    value = fulcio_extensions(ident)[oids.OID_SOURCE_REPOSITORY_URI]
    text = f"https://github.com/acme/{'w' * 200}".encode()
    assert value == b"\x0c\x81" + bytes([len(text)]) + text


@pytest.mark.parametrize("bad", [{"repository": "no-slash"}, {"repository": "a/b/c"},
                                 {"workflow": "dir/release.yml"}])
def test_identity_rejects_malformed_fields(bad: dict[str, str]) -> None:
    fields = {"repository": "acme/widget", **bad}
    with pytest.raises(ValueError):
        GitHubIdentity(**fields)
