"""The real Debian bookworm Release file and its three detached signatures
(tests/data/signatures/gpg/README.md)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from signing.errors import KeyExpired, KeyUnknown, SignatureInvalid
from signing.gpg import inspect_key, verify_detached

from .conftest import DATA

GPG = DATA / "gpg"
AUTOMATIC = (GPG / "debian-archive-bookworm-automatic.asc").read_text()
STABLE = (GPG / "debian-archive-bookworm-stable.asc").read_text()
AUTOMATIC_PRIMARY = "B8B80B5B623EAB6AD8775C45B7C5D7D6350947F8"
AUTOMATIC_SUBKEY = "4CB50190207B4758A3F73A796ED0E7B82643E131"
STABLE_PRIMARY = "4D64FEC119C2029067D6E791F8D2585B8783D481"
RELEASE = (GPG / "Release").read_bytes()
SIGNATURE = (GPG / "Release.gpg").read_bytes()


def test_subkey_signature_pins_the_primary_fingerprint():
    verified = verify_detached(RELEASE, SIGNATURE, [AUTOMATIC])
    assert verified.fingerprint == AUTOMATIC_PRIMARY
    assert verified.signing_key_fingerprint == AUTOMATIC_SUBKEY
    assert verified.signed_at.year == 2026


def test_stable_key_signature():
    assert verify_detached(GPG / "Release", SIGNATURE, [STABLE]).fingerprint == STABLE_PRIMARY


def test_tampered_release_is_refused():
    with pytest.raises(SignatureInvalid):
        verify_detached(RELEASE.replace(b"bookworm", b"bookwurm", 1), SIGNATURE,
                        [AUTOMATIC, STABLE])


def test_only_the_missing_security_key_is_unknown():
    """Keys unrelated to any of the three signatures: every signature is 'no public key'."""
    from .gpg_keys import Keyring

    ring = Keyring()
    try:
        stranger = ring.make("Stranger <stranger@example.test>")
    finally:
        ring.close()
    with pytest.raises(KeyUnknown):
        verify_detached(RELEASE, SIGNATURE, [stranger.public])


def test_keys_expire_in_2031():
    with pytest.raises(KeyExpired):
        verify_detached(RELEASE, SIGNATURE, [AUTOMATIC, STABLE],
                        now=datetime(2032, 1, 1, tzinfo=UTC))
    assert inspect_key(AUTOMATIC).expires_at == datetime(2031, 1, 19, 11, 44, 21, tzinfo=UTC)
