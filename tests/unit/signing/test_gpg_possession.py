"""`signing.gpg.verify_possession` and the signing fingerprints `inspect_key` reports, with keys
made by the real gpg (issue 9: registering a key proves its private half is held)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from signing.errors import AttachedSignature, KeyInvalid, KeyUnknown, SignatureInvalid
from signing.gpg import inspect_key, verify_possession

from .gpg_keys import GeneratedKey, Keyring

CHALLENGE = b"vouch-gpg-key-proof:v1 user=alice nonce=abc expires=2030-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def ring() -> Iterator[Keyring]:
    keyring = Keyring()
    yield keyring
    keyring.close()


@pytest.fixture(scope="module")
def key(ring: Keyring) -> GeneratedKey:
    return ring.make("Holder <holder@example.test>")


@pytest.fixture(scope="module")
def other(ring: Keyring) -> GeneratedKey:
    return ring.make("Other <other@example.test>")


def test_a_signature_by_the_key_proves_possession(ring: Keyring, key: GeneratedKey) -> None:
    verified = verify_possession(CHALLENGE, ring.sign(key.fingerprint, CHALLENGE), key.public)
    assert verified.fingerprint == key.fingerprint
    # `echo "$challenge" | gpg --detach-sign` signs a trailing newline too.
    signed_line = ring.sign(key.fingerprint, CHALLENGE + b"\n")
    assert verify_possession(CHALLENGE, signed_line, key.public).fingerprint == key.fingerprint


def test_a_signing_subkey_proves_possession_of_its_primary(ring: Keyring) -> None:
    primary = ring.make("Sub <sub@example.test>", usage="cert")
    full = ring.add_signing_subkey(primary.fingerprint)
    info = inspect_key(full.public)
    assert not info.primary_can_sign
    assert len(info.signing_subkey_fingerprints) == 1
    assert info.signing_fingerprints == (primary.fingerprint, *info.signing_subkey_fingerprints)
    verified = verify_possession(CHALLENGE, ring.sign(primary.fingerprint, CHALLENGE),
                                 full.public)
    assert verified.fingerprint == primary.fingerprint
    assert verified.signing_key_fingerprint == info.signing_subkey_fingerprints[0]


def test_anything_else_is_no_proof(ring: Keyring, key: GeneratedKey,
                                   other: GeneratedKey) -> None:
    # Another key's good signature: its key is not in the throwaway keyring.
    with pytest.raises(KeyUnknown):
        verify_possession(CHALLENGE, ring.sign(other.fingerprint, CHALLENGE), key.public)
    # The right key over other text.
    with pytest.raises(SignatureInvalid):
        verify_possession(CHALLENGE, ring.sign(key.fingerprint, b"other text"), key.public)
    with pytest.raises(AttachedSignature):
        verify_possession(CHALLENGE, ring.sign(key.fingerprint, CHALLENGE, mode="--sign"),
                          key.public)
    # Two keys in one block (the signer's and someone else's) is not one key.
    with pytest.raises(KeyInvalid):
        verify_possession(CHALLENGE, ring.sign(other.fingerprint, CHALLENGE),
                          key.public + other.public)
