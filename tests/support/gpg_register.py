"""Register GPG keys the way users must since issue 9: over HTTP, proving possession.

    body = register_gpg_key(client, keyring, key)          # asserts 201, returns the key JSON
    response = prove_gpg_key(client, keyring, key)         # the raw response, for refusals

The client asks for a challenge, signs its text with the key (real `gpg`, detached, armored)
and posts the armored public key, the challenge and the signature. Tests that only need a
key in place (not the HTTP flow) can call ``app.trust.gpg_keys.register_verified_key``.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.unit.signing.gpg_keys import GeneratedKey, Keyring


def get_challenge(client: httpx.Client) -> str:
    response = client.get("/api/v1/gpg-keys/challenge")
    assert response.status_code == 200, response.text
    challenge: str = response.json()["challenge"]
    return challenge


def prove_gpg_key(client: httpx.Client, keyring: Keyring, key: GeneratedKey, *,
                  challenge: str | None = None, signer: str | None = None,
                  armored: str | None = None) -> httpx.Response:
    """POST a registration of ``key`` (or ``armored``) with a challenge (a fresh one unless
    given) signed in ``keyring`` by ``signer`` (default: the key itself)."""
    text = challenge if challenge is not None else get_challenge(client)
    signature = keyring.sign(signer or key.fingerprint, text.encode()).decode()
    return client.post("/api/v1/gpg-keys", json={
        "armored": armored if armored is not None else key.public,
        "challenge": text, "signature": signature})


def register_gpg_key(client: httpx.Client, keyring: Keyring,
                     key: GeneratedKey) -> dict[str, Any]:
    """Register ``key`` for the client's user; asserts success."""
    response = prove_gpg_key(client, keyring, key)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert body["fingerprint"] == key.fingerprint
    return body
