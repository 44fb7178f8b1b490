"""GPG detached-signature verification with keys made by the real gpg."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

from signing.errors import (
    AttachedSignature,
    KeyExpired,
    KeyInvalid,
    KeyRevoked,
    KeyUnknown,
    MalformedSignature,
    SignatureInvalid,
)
from signing.gpg import inspect_key, verify_detached

from .gpg_keys import GeneratedKey, Keyring, past

ARTIFACT = b"vouch test artifact\n" + bytes(range(256)) * 64


@pytest.fixture(scope="session")
def ring():
    keyring = Keyring()
    yield keyring
    keyring.close()


@pytest.fixture(scope="session")
def good(ring) -> GeneratedKey:
    return ring.make("Good Signer <good@example.test>")


@pytest.fixture(scope="session")
def other(ring) -> GeneratedKey:
    return ring.make("Other Signer <other@example.test>")


@pytest.fixture(scope="session")
def subkeyed(ring) -> GeneratedKey:
    primary = ring.make("Sub Signer <sub@example.test>", usage="cert")
    return ring.add_signing_subkey(primary.fingerprint)


@pytest.fixture(scope="session")
def expired(ring) -> tuple[GeneratedKey, bytes]:
    """A key made 10 days ago that expired after one day, and a signature from its lifetime."""
    key = ring.make("Expired Signer <expired@example.test>", expire="1d", faked=past(10))
    return key, ring.sign(key.fingerprint, ARTIFACT, faked=past(10) + timedelta(hours=1))


@pytest.fixture(scope="session")
def revoked(ring) -> tuple[GeneratedKey, bytes]:
    key = ring.make("Revoked Signer <revoked@example.test>")
    signature = ring.sign(key.fingerprint, ARTIFACT)
    return ring.revoke(key.fingerprint), signature


def test_good_armored_signature(ring, good, other):
    sig = ring.sign(good.fingerprint, ARTIFACT)
    verified = verify_detached(ARTIFACT, sig, [other.public, good.public])
    assert verified.fingerprint == good.fingerprint
    assert verified.signing_key_fingerprint == good.fingerprint
    assert verified.signer == "Good Signer <good@example.test>"
    assert abs(verified.signed_at - datetime.now(UTC)) < timedelta(hours=1)
    assert verified.method == "gpg"


def test_good_binary_signature_over_a_file(ring, good, tmp_path):
    sig = ring.sign(good.fingerprint, ARTIFACT, armor=False)
    assert sig[0] in (0x88, 0x89, 0xC2)
    path = tmp_path / "artifact.tgz"
    path.write_bytes(ARTIFACT)
    assert verify_detached(path, sig, [good.public]).fingerprint == good.fingerprint


def test_subkey_signature_counts_for_its_primary(ring, subkeyed):
    sig = ring.sign(subkeyed.fingerprint, ARTIFACT)
    verified = verify_detached(ARTIFACT, sig, [subkeyed.public])
    assert verified.fingerprint == subkeyed.fingerprint
    assert verified.signing_key_fingerprint != subkeyed.fingerprint
    assert verified.signing_key_fingerprint in inspect_key(subkeyed.public).subkey_fingerprints


def test_expired_key_is_refused(expired):
    key, sig = expired
    with pytest.raises(KeyExpired) as info:
        verify_detached(ARTIFACT, sig, [key.public])
    assert info.value.code == "key_expired"
    assert info.value.fingerprint == key.fingerprint


def test_key_expiry_is_judged_at_the_injected_time(ring):
    key = ring.make("Short Lived <short@example.test>", expire="2d")
    sig = ring.sign(key.fingerprint, ARTIFACT)
    assert verify_detached(ARTIFACT, sig, [key.public]).fingerprint == key.fingerprint
    with pytest.raises(KeyExpired):
        verify_detached(ARTIFACT, sig, [key.public], now=datetime.now(UTC) + timedelta(days=5))


def test_revoked_key_is_refused(revoked):
    key, sig = revoked
    with pytest.raises(KeyRevoked) as info:
        verify_detached(ARTIFACT, sig, [key.public])
    assert info.value.code == "key_revoked"


def test_unknown_key_is_refused(ring, good, other):
    sig = ring.sign(good.fingerprint, ARTIFACT)
    with pytest.raises(KeyUnknown) as info:
        verify_detached(ARTIFACT, sig, [other.public])
    assert info.value.code == "key_unknown"
    assert info.value.key_id and good.fingerprint.endswith(info.value.key_id)


def test_no_registered_keys_is_refused(ring, good):
    sig = ring.sign(good.fingerprint, ARTIFACT)
    with pytest.raises(KeyUnknown):
        verify_detached(ARTIFACT, sig, [])
    with pytest.raises(KeyUnknown):
        verify_detached(ARTIFACT, sig, ["not a key"])


def test_tampered_data_is_refused(ring, good):
    sig = ring.sign(good.fingerprint, ARTIFACT)
    with pytest.raises(SignatureInvalid) as info:
        verify_detached(ARTIFACT[:-1] + b"X", sig, [good.public])
    assert info.value.code == "signature_invalid"


@pytest.mark.parametrize("garbage", [
    b"",
    os.urandom(300),
    b"\x00\x01\x02 definitely not a signature",
    b"-----BEGIN PGP SIGNATURE-----\n\nbm90IGEgc2lnbmF0dXJl\n=AAAA\n-----END PGP SIGNATURE-----\n",
])
def test_garbage_signature_is_malformed(good, garbage):
    with pytest.raises(MalformedSignature) as info:
        verify_detached(ARTIFACT, garbage, [good.public])
    assert info.value.code in {"signature_malformed", "signature_not_detached"}


def test_a_public_key_is_not_a_signature(good):
    with pytest.raises(MalformedSignature):
        verify_detached(ARTIFACT, good.public.encode(), [good.public])


@pytest.mark.parametrize(("mode", "armor"), [("--sign", True), ("--sign", False),
                                             ("--clearsign", True)])
def test_attached_signature_is_refused(ring, good, mode, armor):
    signed = ring.sign(good.fingerprint, ARTIFACT, mode=mode, armor=armor)
    with pytest.raises(AttachedSignature) as info:
        verify_detached(ARTIFACT, signed, [good.public])
    assert info.value.code == "signature_not_detached"


def test_inspect_key(good, subkeyed):
    info = inspect_key(good.public)
    assert info.fingerprint == good.fingerprint
    assert info.uids == ("Good Signer <good@example.test>",)
    assert info.expires_at is None
    assert not info.revoked and not info.expired
    assert len(inspect_key(subkeyed.public).subkey_fingerprints) == 1


def test_inspect_expired_and_revoked_keys(expired, revoked):
    exp = inspect_key(expired[0].public)
    assert exp.expired and exp.expires_at is not None and exp.expires_at < datetime.now(UTC)
    assert inspect_key(revoked[0].public).revoked


def test_inspect_key_refuses_private_key_material(ring, good):
    with pytest.raises(KeyInvalid) as info:
        inspect_key(ring.export_secret(good.fingerprint))
    assert info.value.code == "key_invalid"


@pytest.mark.parametrize("garbage", ["", "hello", "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n"
                                     "-----END PGP PUBLIC KEY BLOCK-----\n"])
def test_inspect_key_refuses_garbage(garbage):
    with pytest.raises(KeyInvalid):
        inspect_key(garbage)


def test_inspect_key_refuses_two_keys(good, other):
    with pytest.raises(KeyInvalid, match="exactly one"):
        inspect_key(good.public + other.public)
