"""Test setup straight through the database, as ``Actors`` creates users and tokens: a user's
GPG key and a trusted publisher for a Sigstore identity, without going through HTTP.

    with session_scope(engine, write=True) as session:
        register_key(session, user, key, info, now=clock.now())
    trust_identity(server, "pkg", identity, created_by="alice")

These are fixtures' shortcuts, not what is under test: registering a key over HTTP (proof of
possession) and trusted publishers have their own functional tests.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from app.core.db import session_scope
from app.core.errors import DomainError
from app.core.models import TrustedPublisher, User
from app.publishing.names import parse_package_name
from app.trust.gpg_keys import register_verified_key
from signing.gpg import KeyInfo
from tests.support.server import RunningServer
from tests.support.sigstore_local import GitHubIdentity
from tests.unit.signing.gpg_keys import GeneratedKey


def register_key(session: Session, user: User, key: GeneratedKey, info: KeyInfo, *,
                 now: datetime) -> None:
    """Store ``key`` as ``user``'s GPG key, possession taken as proven (the service's entry for
    trusted callers); ``info`` is the key's ``inspect_key`` result, computed once per session."""
    register_verified_key(session, user, key.public, now, info=info, proof="test-setup")


def trust_identity(server: RunningServer, package: str, identity: GitHubIdentity, *,
                   created_by: str) -> None:
    """Make ``identity``'s workflow a trusted publisher of ``package`` (no audit event: test
    setup). A name the registry would refuse is left alone: its publish fails on the name."""
    try:
        name = parse_package_name(package).full
    except DomainError:
        return
    registry = server.registry
    with session_scope(registry.engine, write=True) as session:
        exists = session.exec(select(TrustedPublisher).where(
            TrustedPublisher.package_name == name,
            TrustedPublisher.repository == identity.repository,
            TrustedPublisher.workflow == identity.workflow)).first()
        if exists is None:
            session.add(TrustedPublisher(package_name=name, repository=identity.repository,
                                         workflow=identity.workflow,
                                         created_at=registry.clock.now(),
                                         created_by=created_by))
