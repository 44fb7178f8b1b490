"""The registry's ECDSA P-256 signatures and the keys document npm reads."""

import base64
import hashlib
import os
import stat
import subprocess
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from formats.npm.errors import InvalidSigningKey
from formats.npm.signatures import RegistryKey, keys_document, verify

INTEGRITY = "sha512-" + base64.b64encode(b"\1" * 64).decode()


def test_sign_and_verify_over_name_version_integrity():
    key = RegistryKey.generate()
    entry = keys_document([key])["keys"][0]
    sig = key.sign("@acme/widget", "1.0.0", INTEGRITY)
    assert sig["keyid"] == entry["keyid"]
    assert verify(entry, sig, "@acme/widget", "1.0.0", INTEGRITY)
    assert not verify(entry, sig, "@acme/widget", "1.0.1", INTEGRITY)
    assert not verify(entry, sig, "@acme/other", "1.0.0", INTEGRITY)
    assert not verify(entry, sig, "@acme/widget", "1.0.0", INTEGRITY[:-4] + "AAA=")
    other = RegistryKey.generate()
    assert not verify(keys_document([other])["keys"][0], sig, "@acme/widget", "1.0.0", INTEGRITY)


def test_keys_document_shape_and_keyid():
    key = RegistryKey(RegistryKey.generate().private_key,
                      expires=datetime(2027, 1, 1, tzinfo=UTC))
    (entry,) = keys_document([key])["keys"]
    assert entry["keytype"] == entry["scheme"] == "ecdsa-sha2-nistp256"
    assert entry["expires"] == "2027-01-01T00:00:00.000Z"
    spki = base64.b64decode(entry["key"])
    public = serialization.load_der_public_key(spki)
    assert isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name == "secp256r1"
    assert entry["keyid"] == "SHA256:" + base64.b64encode(hashlib.sha256(spki).digest()).decode()


def test_keyid_agrees_with_openssl(tmp_path):
    key = RegistryKey.generate()
    (tmp_path / "k.pem").write_bytes(key.pem())
    der = subprocess.run(["openssl", "pkey", "-in", str(tmp_path / "k.pem"), "-pubout",
                          "-outform", "DER"], check=True, capture_output=True).stdout
    assert key.keyid == "SHA256:" + base64.b64encode(hashlib.sha256(der).digest()).decode()


def test_load_or_create(tmp_path):
    path = tmp_path / "keys" / "npm-signing.pem"
    with pytest.raises(InvalidSigningKey, match="no registry signing key"):
        RegistryKey.load_or_create(path, create=False)
    assert not path.exists()
    created = RegistryKey.load_or_create(path, create=True)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = RegistryKey.load_or_create(path, create=False)
    assert again.keyid == created.keyid


@pytest.mark.parametrize("pem", [
    b"garbage",
    ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()),
    ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()),
    ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw")),
])
def test_bad_key_files(tmp_path, pem):
    path = tmp_path / "k.pem"
    path.write_bytes(pem)
    with pytest.raises(InvalidSigningKey):
        RegistryKey.load_or_create(path, create=True)
    assert path.read_bytes() == pem  # never replaced


def test_processes_starting_together_agree_on_one_key(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "npm-signing-key.pem"
    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: RegistryKey.load_or_create(path, create=True), range(16)))
    assert {key.keyid for key in keys} == {RegistryKey.load_or_create(path, create=False).keyid}
    assert [p.name for p in tmp_path.iterdir()] == ["npm-signing-key.pem"]  # no temporary left
