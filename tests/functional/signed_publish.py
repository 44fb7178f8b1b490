"""Signed publishing for the lifecycle tests: a GPG publisher (real `gpg`) and a Sigstore
publisher (the local Sigstore instance), each bound to one user of the running registry.

    gpg = GpgPublisher.register(actors, keyring, key, "alice")
    assert gpg.publish("pkg", "1.0.0", b"bytes").status_code == 201

The server must accept the method: use ``SIGNED_SETTINGS`` (policy ``any``) with the local
Sigstore trust root, as ``settings_overrides`` does in the modules that import this.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from tests.conftest import Actors
from tests.functional.helpers import publish
from tests.support.sigstore_local import GitHubIdentity, SigstoreInstance
from tests.unit.signing.gpg_keys import GeneratedKey, Keyring

SIGSTORE_IDENTITY = GitHubIdentity(repository="acme/widget", workflow="release.yml",
                                   ref="refs/tags/v1.0.0")


def make_key(keyring: Keyring, uid: str) -> GeneratedKey:
    """A signing key created a day ago (a test server's clock starts with its test, and gpg
    treats a key created after "now" as not yet valid)."""
    return keyring.make(uid, faked=datetime.now(UTC) - timedelta(days=1))


@dataclass
class GpgPublisher:
    client: httpx.Client
    token: str
    keyring: Keyring
    key: GeneratedKey

    @classmethod
    def register(cls, actors: Actors, keyring: Keyring, key: GeneratedKey,
                 user: str) -> GpgPublisher:
        token = actors.user(user)
        client = actors.client(token)
        body: dict[str, str] = {"armored": key.public}
        challenge = client.get("/api/v1/gpg-keys/challenge")
        if challenge.status_code == 200:  # proof of possession (issue 9)
            text = challenge.json()["challenge"]
            body["challenge"] = text
            body["signature"] = keyring.sign(key.fingerprint, text.encode()).decode()
        response = client.post("/api/v1/gpg-keys", json=body)
        assert response.status_code == 201, response.text
        return cls(client, token, keyring, key)

    def signature(self, data: bytes) -> bytes:
        return self.keyring.sign(self.key.fingerprint, data)

    def publish(self, name: str, version: str, data: bytes,
                client: httpx.Client | None = None,
                signature: bytes | None = None) -> httpx.Response:
        """Publish with a detached GPG signature (made now unless ``signature`` is given)."""
        sig = signature if signature is not None else self.signature(data)
        return publish(client or self.client, name, version, data,
                       gpg_signature=("artifact.asc", sig, "application/pgp-signature"))


@dataclass
class SigstorePublisher:
    """Owner of ``@acme/widget`` with a trusted publisher for acme/widget's release.yml."""

    client: httpx.Client
    instance: SigstoreInstance

    @classmethod
    def register(cls, actors: Actors, instance: SigstoreInstance, user: str) -> SigstorePublisher:
        client = actors.client(actors.user(user))
        assert client.post("/api/v1/orgs", json={"name": "acme"}).status_code == 201
        response = client.post("/api/v1/trusted-publishers", json={
            "target": "@acme/widget", "repository": "acme/widget", "workflow": "release.yml",
            "ref_pattern": "refs/tags/v*"})
        assert response.status_code == 201, response.text
        return cls(client, instance)

    def publish(self, version: str, data: bytes) -> httpx.Response:
        bundle = self.instance.sign_artifact(data, SIGSTORE_IDENTITY)
        return publish(self.client, "@acme/widget", version, data,
                       sigstore_bundle=("bundle.sigstore.json", bundle, "application/json"))
