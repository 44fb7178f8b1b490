"""pytest fixtures for the private Sigstore instance.

Example (in a conftest.py or a test module)::

    from tests.support.sigstore_local.fixtures import (  # noqa: F401
        github_oidc_key, sigstore_instance, sigstore_trusted_root_path,
    )

    def test_publish(sigstore_instance, sigstore_trusted_root_path): ...

Session-scoped (one per xdist worker): `sigstore_instance` (keys + log + a running Rekor API),
`sigstore_trusted_root_path`, `github_oidc_key`, `github_jwks_path`. The session log is shared
by every test of a worker, so never assert on its absolute size or indexes; compare with the
entry your test created, or take the function-scoped `fresh_sigstore_instance` (new keys,
empty log, no server; about 5 ms).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from .identity import GitHubIdentity
from .instance import SigstoreInstance
from .oidc import OidcSigningKey


@pytest.fixture(scope="session")
def sigstore_instance() -> Iterator[SigstoreInstance]:
    """A private instance whose Rekor v1 API is served on 127.0.0.1 for the session."""
    instance = SigstoreInstance.create()
    server = instance.serve()
    try:
        yield instance
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sigstore_trusted_root_path(
    sigstore_instance: SigstoreInstance, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """``trusted_root.json`` of `sigstore_instance` (its tlog baseUrl is the live server)."""
    path = tmp_path_factory.mktemp("sigstore-local") / "trusted_root.json"
    return sigstore_instance.write_trusted_root(path)


@pytest.fixture
def fresh_sigstore_instance() -> SigstoreInstance:
    """A new instance with an empty log and no HTTP server."""
    return SigstoreInstance.create()


@pytest.fixture
def github_identity() -> GitHubIdentity:
    """A default release identity: acme/widget, release.yml, refs/tags/v1.0.0."""
    return GitHubIdentity(repository="acme/widget", workflow="release.yml",
                          ref="refs/tags/v1.0.0")


@pytest.fixture(scope="session")
def github_oidc_key() -> OidcSigningKey:
    """The test OIDC issuer's RS256 key (RSA key generation is slow: once per session)."""
    return OidcSigningKey.generate(kid="vouch-test-key")


@pytest.fixture(scope="session")
def github_jwks_path(
    github_oidc_key: OidcSigningKey, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A JWKS file publishing `github_oidc_key` (for air-gapped issuer configuration)."""
    path = tmp_path_factory.mktemp("oidc") / "jwks.json"
    path.write_text(json.dumps(github_oidc_key.jwks()), encoding="utf-8")
    return path
