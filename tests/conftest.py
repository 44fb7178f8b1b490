"""Shared fixtures: a fresh database per test, the real server on loopback, users and tokens.

The server runs with the product's default signature policy (``any``: unsigned publishes are
refused), so every user ``Actors`` creates has a GPG key and the clients it hands out sign
their publishes (``tests.functional.helpers.publish``). A test about the ``none`` policy opts
in through ``settings_overrides`` and says so.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlmodel import func, select

from app.accounts import service as accounts
from app.accounts.tokens import hash_secret
from app.core.clock import ManualClock
from app.core.config import Settings
from app.core.db import session_scope
from app.core.models import (
    ApiToken,
    AuditEvent,
    PackageBlob,
    PackageVersion,
    TrustedPublisher,
    User,
)
from formats.npm.signatures import RegistryKey
from tests.support.databases import DatabaseFactory
from tests.support.moto_s3 import (  # noqa: F401  (fixtures for every test)
    MotoS3,
    aws_environment,
    moto_s3,
)
from tests.support.server import RunningServer, running_registry
from tests.support.signers import SessionSigning, Signer, SigningClient, SigningMethod
from tests.support.signing_setup import register_key, trust_identity
from tests.support.sigstore_local import GitHubIdentity, SigstoreInstance
from tests.support.sigstore_local.fixtures import (  # noqa: F401  (fixtures for every test)
    github_jwks_path,
    github_oidc_key,
    sigstore_instance,
    sigstore_trusted_root_path,
)


@pytest.fixture(scope="session")
def db_factory(tmp_path_factory: pytest.TempPathFactory,
               worker_id: str) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("dbtemplate"), worker_id)
    yield factory
    factory.close()


@pytest.fixture
def database_url(db_factory: DatabaseFactory, tmp_path: Path) -> Iterator[str]:
    with db_factory.fresh(tmp_path / "db") as url:
        yield url


#: The registry's own default (production refuses unsigned publishes). Set explicitly so that
#: a VOUCH_DEFAULT_SIGNATURE_POLICY in the environment cannot leak into the suite;
#: tests/functional/test_suite_defaults.py fails if this ever drifts from ``Settings()``.
PRODUCT_SIGNATURE_POLICY = Settings.model_fields["default_signature_policy"].default


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, object]:
    """Override in a test module, or per test with
    ``@pytest.mark.parametrize("settings_overrides", [{...}], indirect=True)``, to change its
    server's settings. ``{"default_signature_policy": "none"}`` is for tests about unsigned
    publishing only."""
    return dict(getattr(request, "param", {}))


#: ``VOUCH_TEST_BLOB_STORE=s3`` runs a test's server on a fresh bucket of the session's moto
#: server instead of a blob directory (issue 16; ``make test`` runs ``S3_TESTS`` this way).
TEST_BLOB_STORE = os.environ.get("VOUCH_TEST_BLOB_STORE", "filesystem")


@pytest.fixture
def settings(database_url: str, tmp_path: Path,
             sigstore_trusted_root_path: Path,  # noqa: F811  (the fixture imported above)
             settings_overrides: dict[str, object], request: pytest.FixtureRequest) -> Settings:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        "environment": "development",
        "default_signature_policy": PRODUCT_SIGNATURE_POLICY,
        # The local Sigstore instance stands in for public-good (whose Fulcio cannot issue
        # certificates to tests), so any test can publish Sigstore-signed.
        "sigstore_trust": str(sigstore_trusted_root_path),
        "max_upload_bytes": 1024 * 1024,
    }
    if TEST_BLOB_STORE == "s3" and "blob_store" not in settings_overrides:
        moto: MotoS3 = request.getfixturevalue("moto_s3")
        values.update(moto.overrides())
    values.update(settings_overrides)
    if values["environment"] == "production" and "npm_signing_key" not in values:
        # Production never creates the npm registry key (issue 15): provision one.
        values["npm_signing_key"] = tmp_path / "npm-signing-key.pem"
        (tmp_path / "npm-signing-key.pem").write_bytes(RegistryKey.generate().pem())
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def server(settings: Settings, clock: ManualClock) -> Iterator[RunningServer]:
    with running_registry(settings, clock) as running:
        yield running


@pytest.fixture(scope="session")
def session_signing(
        sigstore_instance: SigstoreInstance,  # noqa: F811  (the fixture imported above)
) -> Iterator[SessionSigning]:
    """GPG keys (made once, on first use) and signature caches for the whole session."""
    signing = SessionSigning(sigstore_instance)
    yield signing
    signing.close()


@pytest.fixture(params=["gpg", "sigstore"])
def signing_method(request: pytest.FixtureRequest) -> SigningMethod:
    """Run a lifecycle test once per signing method: ``actors.user(name, signing=...)``."""
    method: SigningMethod = request.param
    return method


@dataclass
class Actors:
    """Creates users and tokens straight through the services (as `vouch admin` does).

    Every user gets the next GPG key of the session (registered directly, as verified) and
    signs with it; ``signing="sigstore"`` makes their publishes carry a bundle from the local
    Sigstore instance instead, for a workflow identity trusted for each package they publish.
    """

    server: RunningServer
    signing: SessionSigning
    signers: dict[str, Signer] = field(default_factory=dict)

    def user(self, name: str, *, admin: bool = False, security: bool = False,
             signing: SigningMethod = "gpg", **token_options: object) -> str:
        """Create a user and return a fresh token for them."""
        registry = self.server.registry
        key = self.signing.key(len(self.signers))
        with session_scope(registry.engine, write=True) as session:
            user = accounts.create_user(session, name, now=registry.clock.now(), actor="test",
                                        admin=admin, security=security)
            register_key(session, user, key, self.signing.key_info(key),
                         now=registry.clock.now())
            _, secret = accounts.create_token(session, user, now=registry.clock.now(),
                                              **token_options)  # type: ignore[arg-type]
        self.signers[name] = (self.signing.gpg_signer(len(self.signers)) if signing == "gpg"
                              else self.signing.sigstore_signer(name, self._trust(name)))
        return secret

    def _trust(self, user: str) -> Callable[[str, GitHubIdentity], None]:
        def trust(package: str, identity: GitHubIdentity) -> None:
            trust_identity(self.server, package, identity, created_by=user)
        return trust

    def token(self, name: str, **token_options: object) -> str:
        registry = self.server.registry
        with session_scope(registry.engine, write=True) as session:
            user = accounts.get_user(session, name)
            _, secret = accounts.create_token(session, user, now=registry.clock.now(),
                                              **token_options)  # type: ignore[arg-type]
        return secret

    def signer(self, token: str | None) -> Signer | None:
        """Who signs what ``token`` publishes (revoked and expired tokens too): its user's
        signer, or for a token minted from a workflow's OIDC token, that workflow's Sigstore
        identity. ``None`` for anonymous calls and unknown tokens."""
        if not token:
            return None
        with session_scope(self.server.registry.engine) as session:
            row = session.exec(select(ApiToken)
                               .where(ApiToken.token_hash == hash_secret(token))).first()
            user = session.get(User, row.user_id) if row and row.user_id else None
            publisher = (session.get(TrustedPublisher, row.trusted_publisher_id)
                         if row and row.trusted_publisher_id else None)
            if user is not None:
                return self.signers.get(user.name)
            if publisher is not None:
                return self.signing.workflow_signer(publisher.repository, publisher.workflow,
                                                    publisher.ref_pattern,
                                                    publisher.repository_owner_id)
        return None

    def client(self, token: str | None = None) -> SigningClient:
        """A client acting with ``token``; ``publish`` signs with the token's user's key."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return SigningClient(signer=self.signer(token), base_url=self.server.url,
                             headers=headers, timeout=30)


@pytest.fixture
def actors(server: RunningServer, session_signing: SessionSigning) -> Actors:
    return Actors(server, session_signing)


@dataclass
class StateCounts:
    versions: int
    blobs_rows: int
    blob_files: int
    audit_events: int


def state_counts(server: RunningServer) -> StateCounts:
    """What a rejected request must not change: rows, stored blobs, audit events."""
    registry = server.registry
    with session_scope(registry.engine) as session:
        versions = session.exec(select(func.count()).select_from(PackageVersion)).one()
        blobs = session.exec(select(func.count()).select_from(PackageBlob)).one()
        events = session.exec(select(func.count()).select_from(AuditEvent)).one()
    return StateCounts(versions, blobs, len(registry.blobs.keys()), events)


def pytest_report_header(config: pytest.Config) -> str:
    return (f"vouch test database: {os.environ.get('VOUCH_TEST_DB', 'sqlite')}, "
            f"blob store: {TEST_BLOB_STORE}")
