"""Signers for the functional tests: every test user publishes signed, as production demands.

    signing = SessionSigning(sigstore_instance)      # once per test session (xdist worker)
    gpg = signing.gpg_signer(0)                       # GPG key #0, made by the real `gpg`
    gpg.evidence("pkg", data)                         # {"gpg_signature": (name, sig, type)}
    sigstore = signing.sigstore_signer("alice", trust=lambda package: ...)
    sigstore.evidence("pkg", data)                    # {"sigstore_bundle": (name, json, type)}

The GPG keys are Ed25519 keys generated lazily (about 25 ms each) in one short GNUPGHOME per
session and backdated by a day: a test server's clock starts when its test starts, and gpg
treats a key created after "now" as not yet valid. Signatures and bundles are cached by
(signer, sha256) for the session, so the many tests that publish the same bytes sign once.

A ``SigningClient`` is the ``httpx.Client`` that ``Actors.client`` hands out: its ``signer``
is the key of the user the token belongs to, and ``tests.functional.helpers.publish`` signs
with it. Signing failures raise ``subprocess.CalledProcessError`` (gpg) — a broken test setup,
never a silent unsigned upload.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

import httpx

from signing.gpg import KeyInfo, inspect_key
from tests.support.sigstore_local import GitHubIdentity, SigstoreInstance
from tests.unit.signing.gpg_keys import GeneratedKey, Keyring

#: A multipart file field as httpx takes it: (filename, content, content type).
FileField = tuple[str, bytes, str]
SigningMethod = Literal["gpg", "sigstore"]
#: The publish form fields that carry evidence; a caller passing one signs by itself.
EVIDENCE_FIELDS = frozenset({"gpg_signature", "sigstore_bundle"})


class Signer(Protocol):
    """Makes the evidence one publish sends for ``package`` and the artifact ``data``."""

    @property
    def method(self) -> SigningMethod: ...

    def evidence(self, package: str, data: bytes) -> dict[str, FileField]: ...

    def cli_args(self, package: str, data: bytes) -> tuple[str, bytes]:
        """(``vouch publish`` flag, file content) for the same evidence."""
        ...


class SessionSigning:
    """The session's GPG keyring and Sigstore instance, with caches of what they signed."""

    def __init__(self, sigstore: SigstoreInstance) -> None:
        self.keyring = Keyring()
        self.sigstore = sigstore
        self._keys: list[GeneratedKey] = []
        self._infos: dict[str, KeyInfo] = {}
        self._signed: dict[tuple[str, str], bytes] = {}
        # gpg's keyring and the caches are shared by publishes running in threads.
        self._lock = threading.Lock()

    def key(self, index: int) -> GeneratedKey:
        """The session's ``index``-th key (generated on first use, created a day ago)."""
        with self._lock:
            while len(self._keys) <= index:
                number = len(self._keys)
                self._keys.append(self.keyring.make(
                    f"Vouch test signer {number} <signer{number}@vouch.test>",
                    faked=datetime.now(UTC) - timedelta(days=1)))
            return self._keys[index]

    def key_info(self, key: GeneratedKey) -> KeyInfo:
        """What the registry's ``inspect_key`` makes of ``key`` (one gpg run per key)."""
        with self._lock:
            if key.fingerprint not in self._infos:
                self._infos[key.fingerprint] = inspect_key(key.public)
            return self._infos[key.fingerprint]

    def gpg_signer(self, index: int) -> GpgSigner:
        return GpgSigner(self, self.key(index))

    def sigstore_signer(self, user: str, trust: Callable[[str, GitHubIdentity], None]
                        ) -> SigstoreSigner:
        """A signer whose workflow identity is ``vouch-tests/<user>``'s release.yml; ``trust``
        registers that identity as a trusted publisher of a package before its publish."""
        identity = GitHubIdentity(repository=f"vouch-tests/{user}", workflow="release.yml",
                                  ref="refs/tags/v1.0.0")
        return SigstoreSigner(self, identity, trust)

    def workflow_signer(self, repository: str, workflow: str, ref_pattern: str | None,
                        owner_id: str | None) -> SigstoreSigner:
        """The workflow behind a minted token, already a trusted publisher: its bundles name
        a tag that ``ref_pattern`` (``refs/tags/v*`` style) accepts and the repository owner
        id the publisher bound."""
        ref = ref_pattern.replace("*", "1.0.0") if ref_pattern else "refs/tags/v1.0.0"
        identity = GitHubIdentity(repository=repository, workflow=workflow, ref=ref,
                                  owner_id=owner_id)
        return SigstoreSigner(self, identity, lambda package, identity: None)

    def cached(self, signer: str, data: bytes, make: Callable[[], bytes]) -> bytes:
        key = (signer, hashlib.sha256(data).hexdigest())
        with self._lock:
            found = self._signed.get(key)
            if found is None:
                found = self._signed[key] = make()
            return found

    def close(self) -> None:
        self.keyring.close()


@dataclass(frozen=True)
class GpgSigner:
    """Detached, armored signatures by one of the session's keys."""

    signing: SessionSigning
    key: GeneratedKey
    method: SigningMethod = "gpg"

    @property
    def fingerprint(self) -> str:
        return self.key.fingerprint

    def sign(self, data: bytes) -> bytes:
        return self.signing.cached(self.key.fingerprint, data,
                                   lambda: self.signing.keyring.sign(self.key.fingerprint, data))

    def evidence(self, package: str, data: bytes) -> dict[str, FileField]:
        return {"gpg_signature": ("artifact.asc", self.sign(data), "application/pgp-signature")}

    def cli_args(self, package: str, data: bytes) -> tuple[str, bytes]:
        return "--gpg-signature", self.sign(data)


@dataclass
class SigstoreSigner:
    """Bundles from the local Sigstore instance for one GitHub workflow identity."""

    signing: SessionSigning
    identity: GitHubIdentity
    trust: Callable[[str, GitHubIdentity], None]
    method: SigningMethod = "sigstore"
    _trusted: set[str] = field(default_factory=set)

    def bundle(self, package: str, data: bytes) -> bytes:
        if package not in self._trusted:
            self.trust(package, self.identity)
            self._trusted.add(package)
        # The whole identity (owner ids too) goes into the certificate, so it keys the cache.
        return self.signing.cached(repr(self.identity), data,
                                   lambda: self.signing.sigstore.sign_artifact(data,
                                                                               self.identity))

    def evidence(self, package: str, data: bytes) -> dict[str, FileField]:
        return {"sigstore_bundle": ("artifact.sigstore.json", self.bundle(package, data),
                                    "application/json")}

    def cli_args(self, package: str, data: bytes) -> tuple[str, bytes]:
        return "--bundle", self.bundle(package, data)


class SigningClient(httpx.Client):
    """An ``httpx.Client`` that knows whose key signs its publishes (``None``: anonymous, or a
    token with no user behind it)."""

    def __init__(self, *, signer: Signer | None, **options: Any) -> None:
        super().__init__(**options)
        self.signer = signer
