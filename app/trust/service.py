"""The trust configuration API's actions: trusted publishers, GPG keys, signature policies.

    trust = TrustService(engine, clock, environment="production")   # built by Registry.build
    trust.add_publisher(principal, PublisherCreate(target="widget", repository="acme/widget",
                                                   workflow="release.yml"))
    trust.set_policy(principal, PolicyUpdate(target="widget", policy="sigstore"))

One method per route; each runs its own transaction (writes commit before the route answers)
and returns the wire model of ``app.trust.schemas``. The rules live in ``configuration``
(who may configure a name, pending publishers and policies) and ``gpg_keys`` (proof of
possession, one account per fingerprint); this class adds one of its own: policy ``none``
(unsigned publishes) may be set only when the registry runs in ``development``.

Failures: ``Forbidden`` (403: not allowed to configure the name; ``none`` outside
development), ``TokenScopeInsufficient`` (403: a limited token), ``NotFound``,
``AlreadyExists``, ``TooManyPendingPublishers`` (409), ``MalformedInput`` (400), and the GPG
errors listed in ``gpg_keys``.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from app.accounts.service import Principal
from app.core.clock import Clock
from app.core.db import session_scope
from app.core.errors import Forbidden
from app.trust import configuration, gpg_keys
from app.trust.schemas import (
    GpgChallenge,
    GpgKeyCreate,
    GpgKeyPublic,
    PolicyPublic,
    PolicyUpdate,
    PublisherCreate,
    PublisherPublic,
)


class TrustService:
    """Trust configuration, each action in its own transaction."""

    def __init__(self, engine: Engine, clock: Clock, *, environment: str) -> None:
        self.engine = engine
        self.clock = clock
        self.environment = environment

    # -- trusted publishers -------------------------------------------------------------------
    def add_publisher(self, principal: Principal, body: PublisherCreate) -> PublisherPublic:
        """Trust a GitHub workflow or a personal Sigstore identity for a package or @scope;
        pending (30 days, at most 3 per user) while the package does not exist."""
        with session_scope(self.engine, write=True) as session:
            row = configuration.add_publisher(
                session, principal, target=body.target, repository=body.repository,
                workflow=body.workflow, environment=body.environment,
                ref_pattern=body.ref_pattern, now=self.clock.now(),
                repository_owner_id=body.repository_owner_id, provider=body.provider,
                identity=body.identity, issuer=body.issuer)
            return configuration.publisher_public(row, session)

    def list_publishers(self, target: str) -> list[PublisherPublic]:
        """Publishers of a package (its own and its scope's) or of an @scope; public."""
        with session_scope(self.engine) as session:
            return [configuration.publisher_public(row, session)
                    for row in configuration.list_publishers(session, target)]

    def remove_publisher(self, principal: Principal, publisher_id: int) -> None:
        """Remove a publisher (and revoke the tokens minted for it)."""
        with session_scope(self.engine, write=True) as session:
            configuration.remove_publisher(session, principal, publisher_id,
                                           now=self.clock.now())

    # -- GPG keys -----------------------------------------------------------------------------
    def gpg_challenge(self, principal: Principal) -> GpgChallenge:
        """A single-use text for the caller to sign with the key they register."""
        with session_scope(self.engine, write=True) as session:
            return gpg_keys.issue_challenge(session, principal, now=self.clock.now())

    def add_gpg_key(self, principal: Principal, body: GpgKeyCreate) -> GpgKeyPublic:
        """Register a public key once the signed challenge proves the caller holds it (gpg
        runs outside any transaction; ``gpg_keys.register_with_proof`` opens its own)."""
        row = gpg_keys.register_with_proof(self.engine, principal, body.armored,
                                           body.challenge or "", body.signature or "",
                                           now=self.clock.now())
        return gpg_keys.gpg_key_public(row)

    def list_gpg_keys(self, principal: Principal) -> list[GpgKeyPublic]:
        with session_scope(self.engine) as session:
            return [gpg_keys.gpg_key_public(row)
                    for row in gpg_keys.list_keys(session, principal)]

    def revoke_gpg_key(self, principal: Principal, fingerprint: str) -> GpgKeyPublic:
        """Revoke one of the caller's keys for ever (idempotent)."""
        with session_scope(self.engine, write=True) as session:
            row = gpg_keys.revoke_key(session, principal, fingerprint, now=self.clock.now())
            return gpg_keys.gpg_key_public(row)

    # -- signature policies -------------------------------------------------------------------
    def set_policy(self, principal: Principal, body: PolicyUpdate) -> PolicyPublic:
        """Set (``None``: clear) the signature policy of a package or @scope; pending on a
        name with no version yet. ``none`` is refused outside development (403)."""
        if body.policy == "none" and self.environment != "development":
            raise Forbidden("policy 'none' (unsigned publishes) is refused outside development")
        with session_scope(self.engine, write=True) as session:
            expires = configuration.set_policy(session, principal, body.target, body.policy,
                                               now=self.clock.now())
        return PolicyPublic(target=body.target, policy=body.policy,
                            pending_expires_at=expires.isoformat() if expires else None)
