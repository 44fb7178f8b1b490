"""The suite runs what production runs: the fixtures' signature policy is the product's default
(``Settings()``), unsigned publishes are refused, and the test helpers sign by default.

Issue 10: the suite ran with ``default_signature_policy="none"`` for years of tests while the
product refuses unsigned publishes, and the signed path broke unnoticed. These tests fail if
the fixtures ever drift from the product's default again.
"""

from __future__ import annotations

import os

import pytest

from app.core.config import Settings
from tests.conftest import PRODUCT_SIGNATURE_POLICY, Actors, state_counts
from tests.functional.helpers import assert_problem, publish
from tests.support.signers import GpgSigner


def test_the_fixture_settings_use_the_products_default_policy(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in [v for v in os.environ if v.startswith("VOUCH_")]:
        monkeypatch.delenv(variable)
    product = Settings().default_signature_policy
    assert product == PRODUCT_SIGNATURE_POLICY
    assert settings.default_signature_policy == product
    assert product != "none"  # production refuses unsigned publishes


def test_unsigned_publishes_are_refused_and_helpers_sign_by_default(actors: Actors) -> None:
    token = actors.user("alice")
    alice = actors.client(token)
    before = state_counts(actors.server)
    assert_problem(publish(alice, "pkg", "1.0.0", b"unsigned", signed=False), 400,
                   "signature_required")
    assert state_counts(actors.server) == before

    response = publish(alice, "pkg", "1.0.0", b"signed")
    assert response.status_code == 201, response.text
    signer = actors.signer(token)
    assert isinstance(signer, GpgSigner) and alice.signer is signer
    assert response.json()["signer"]["identity"]["fingerprint"] == signer.fingerprint


def test_each_user_signs_with_their_own_key(actors: Actors) -> None:
    alice, bob = actors.client(actors.user("alice")), actors.client(actors.user("bob"))
    assert isinstance(alice.signer, GpgSigner) and isinstance(bob.signer, GpgSigner)
    assert alice.signer.fingerprint != bob.signer.fingerprint
    assert publish(alice, "mine", "1.0.0").status_code == 201
    # Evidence the caller passes replaces the default signature: bob's key is not alice's.
    data = b"mine 1.0.1"
    forged = bob.signer.evidence("mine", data)["gpg_signature"]
    assert_problem(publish(alice, "mine", "1.0.1", data, gpg_signature=forged), 400,
                   "key_unknown")


# The one place the suite checks the (development-only) `none` policy itself.
@pytest.mark.parametrize("settings_overrides", [{"default_signature_policy": "none"}],
                         indirect=True)
def test_the_none_policy_is_an_explicit_opt_in(actors: Actors, settings: Settings) -> None:
    assert settings.default_signature_policy == "none"
    alice = actors.client(actors.user("alice"))
    response = publish(alice, "plain", "1.0.0", b"plain", signed=False)
    assert response.status_code == 201, response.text
    assert response.json()["signer"] is None
