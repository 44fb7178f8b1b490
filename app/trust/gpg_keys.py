"""Users' GPG keys: registration with proof of possession, one account per fingerprint,
revocation for ever.

    challenge = issue_challenge(session, principal, now=now)        # GpgChallenge
    # the user signs challenge["challenge"] with the key: gpg --armor --detach-sign
    row = register_with_proof(engine, principal, armored, challenge_text, signature, now=now)
    row = register_verified_key(session, user, armored, now)        # trusted callers only
    revoke_key(session, principal, fingerprint, now=now)

Why a challenge: without one, any account could register someone else's public key and
publish with that person's signatures, shown as theirs. The challenge is random (256 bits),
bound to the requesting user, single use and valid for ``CHALLENGE_TTL``; only its SHA-256 is
stored. The signature is checked by ``signing.gpg`` in a throwaway keyring that holds only
the submitted key, and the primary fingerprint gpg reports must be the submitted key's.

Every fingerprint a key brings (its primary and its signing subkeys) is claimed once, in
``gpg_fingerprints`` (primary key on the fingerprint): an active key belongs to one account,
and a revoked key's fingerprints stay claimed by the revoked row, so nobody can register
them again.

Failures: ``InvalidKey`` (400 ``invalid_gpg_key``), ``ChallengeInvalid`` (400
``gpg_challenge_invalid``: unknown, or issued to another user), ``ChallengeExpired`` (400),
``ChallengeUsed`` (400), ``ProofInvalid`` (400 ``gpg_proof_invalid``: bad signature, another
key's signature, not a detached signature), ``GpgKeyTaken`` (409), ``GpgKeyRevoked`` (409),
``AlreadyExists`` (409, you registered this key already), ``TokenScopeInsufficient`` (403),
``NotFound`` (revoking a key you do not have).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts.service import Principal, require_unrestricted
from app.core.clock import as_utc
from app.core.db import session_scope
from app.core.errors import AlreadyExists, NotFound
from app.core.models import GpgFingerprint, GpgKey, GpgKeyChallenge, User
from app.core.records import audit
from app.trust.errors import (
    ChallengeExpired,
    ChallengeInvalid,
    ChallengeUsed,
    GpgKeyRevoked,
    GpgKeyTaken,
    InvalidKey,
    ProofInvalid,
    invalid_key,
    proof_invalid,
)
from app.trust.schemas import GpgChallenge, GpgKeyPublic
from signing.errors import VerificationError
from signing.gpg import KeyInfo, inspect_key, verify_possession

CHALLENGE_TTL = timedelta(minutes=10)
#: Open (unused, unexpired) challenges kept per user; older ones are dropped.
MAX_OPEN_CHALLENGES = 10
CHALLENGE_PREFIX = "vouch-gpg-key-proof:v1"
MAX_CHALLENGE_CHARS = 512


def _digest(challenge: str) -> str:
    return hashlib.sha256(challenge.encode("utf-8")).hexdigest()


def _user(session: Session, principal: Principal, what: str) -> User:
    require_unrestricted(principal, what)
    user = session.get(User, principal.user_id)
    assert user is not None  # authenticate() checked the account
    return user


# -- challenges -------------------------------------------------------------------------------
def issue_challenge(session: Session, principal: Principal, *, now: datetime) -> GpgChallenge:
    """A fresh challenge for the caller (an unrestricted user token). Returns the text to sign
    and when it expires."""
    user = _user(session, principal, "registering GPG keys")
    # Housekeeping: challenges long expired go; a user keeps at most a few open ones.
    session.execute(delete(GpgKeyChallenge).where(
        col(GpgKeyChallenge.expires_at) < now - timedelta(days=1)))
    open_ids = session.exec(select(GpgKeyChallenge.id).where(
        GpgKeyChallenge.user_id == user.id, col(GpgKeyChallenge.used_at).is_(None))
        .order_by(col(GpgKeyChallenge.id).desc()).offset(MAX_OPEN_CHALLENGES - 1)).all()
    if open_ids:
        session.execute(delete(GpgKeyChallenge).where(col(GpgKeyChallenge.id).in_(open_ids)))
    expires = now + CHALLENGE_TTL
    text = (f"{CHALLENGE_PREFIX} user={user.name} nonce={secrets.token_urlsafe(32)} "
            f"expires={expires.strftime('%Y-%m-%dT%H:%M:%SZ')}")
    assert user.id is not None
    session.add(GpgKeyChallenge(user_id=user.id, digest=_digest(text), created_at=now,
                                expires_at=expires))
    session.flush()
    return GpgChallenge(challenge=text, expires_at=expires.isoformat())


def _open_challenge(session: Session, user_id: int, challenge: str,
                    now: datetime) -> GpgKeyChallenge:
    """The caller's unused, unexpired challenge with this text, or the reason it is not."""
    if not challenge:
        raise ChallengeInvalid("registering a key needs a challenge signed with it: get one "
                               "from GET /api/v1/gpg-keys/challenge (`vouch gpg-key add` does "
                               "all of this)")
    row = None
    if len(challenge) <= MAX_CHALLENGE_CHARS:
        row = session.exec(select(GpgKeyChallenge).where(
            GpgKeyChallenge.digest == _digest(challenge))).first()
    if row is None or row.user_id != user_id:
        # Another user's challenge is as unknown as a made-up one: say nothing about it.
        raise ChallengeInvalid("this challenge was not issued to you: get one from "
                               "GET /api/v1/gpg-keys/challenge")
    if row.used_at is not None:
        raise ChallengeUsed("this challenge was used already: get a new one")
    if as_utc(row.expires_at) <= now:
        raise ChallengeExpired("this challenge has expired: get a new one")
    return row


def _consume(session: Session, row: GpgKeyChallenge, now: datetime) -> None:
    """Mark the challenge used; the conditional UPDATE makes a concurrent second use lose."""
    result = session.execute(update(GpgKeyChallenge).where(
        col(GpgKeyChallenge.id) == row.id, col(GpgKeyChallenge.used_at).is_(None))
        .values(used_at=now))
    if getattr(result, "rowcount", 0) != 1:
        raise ChallengeUsed("this challenge was used already: get a new one")


# -- registration -----------------------------------------------------------------------------
def inspect(armored: str, now: datetime) -> KeyInfo:
    """Parse a public key offered for registration; raises ``InvalidKey``."""
    if "PRIVATE KEY BLOCK" in armored:
        # Never accept (or keep) secret key material; the key should be considered exposed.
        raise InvalidKey("this is a private key: register only the public key (and treat this "
                         "private key as compromised)")
    try:
        info = inspect_key(armored, now=now)
    except VerificationError as err:
        raise invalid_key(err) from err
    if info.revoked:
        raise InvalidKey("the key is revoked")
    if info.expired:
        raise InvalidKey("the key has expired")
    if not info.primary_can_sign and not info.signing_subkey_fingerprints:
        raise InvalidKey("the key cannot sign (no signing-capable primary key or subkey)")
    return info


def register_with_proof(engine: Engine, principal: Principal, armored: str, challenge: str,
                        signature: str, *, now: datetime) -> GpgKey:
    """Register ``armored`` for the caller once ``signature`` (detached, over ``challenge``)
    proves they hold its private key. gpg runs outside the write transaction."""
    with session_scope(engine) as session:  # cheap checks first, before any gpg work
        user_id = _user(session, principal, "registering GPG keys").id
        assert user_id is not None
        _open_challenge(session, user_id, challenge, now)
    info = inspect(armored, now)
    if not signature.strip():
        raise ProofInvalid("a detached signature of the challenge, made with this key, is "
                           "required (gpg --armor --detach-sign)")
    try:
        verified = verify_possession(challenge.encode("utf-8"), signature.encode("utf-8"),
                                     armored, now=now)
    except VerificationError as err:
        raise proof_invalid(err) from err
    if verified.fingerprint != info.fingerprint:  # signing.gpg checks this too; be explicit
        raise ProofInvalid("the challenge was signed by another key")
    with session_scope(engine, write=True) as session:
        _consume(session, _open_challenge(session, user_id, challenge, now), now)
        user = session.get(User, user_id)
        assert user is not None
        return register_verified_key(session, user, armored, now, info=info,
                                     proof="challenge")


def register_verified_key(session: Session, user: User, armored: str, now: datetime, *,
                          info: KeyInfo | None = None, proof: str = "trusted") -> GpgKey:
    """Store ``armored`` as ``user``'s key, its possession already established (by
    ``register_with_proof``, or by a trusted caller such as an administrator's tooling or the
    test suite). Claims the primary and signing-subkey fingerprints; raises ``InvalidKey``,
    ``AlreadyExists`` (this user has it), ``GpgKeyTaken`` or ``GpgKeyRevoked`` (409)."""
    info = info or inspect(armored, now)
    fingerprints = list(dict.fromkeys(f.upper() for f in info.signing_fingerprints))
    _refuse_claimed(session, user, fingerprints)
    assert user.id is not None
    row = GpgKey(user_id=user.id, fingerprint=info.fingerprint, armored=armored,
                 expires_at=info.expires_at, created_at=now)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
            assert row.id is not None
            session.add_all([GpgFingerprint(fingerprint=f, gpg_key_id=row.id)
                             for f in fingerprints])
            session.flush()
    except IntegrityError as err:  # a concurrent registration won the claim
        raise GpgKeyTaken(f"key {info.fingerprint} was just registered by another request",
                          fingerprint=info.fingerprint) from err
    audit(session, at=now, actor=user.name, action="gpg-key:add", fingerprint=info.fingerprint,
          subkeys=list(info.signing_subkey_fingerprints), uids=list(info.uids), proof=proof)
    return row


def _refuse_claimed(session: Session, user: User, fingerprints: list[str]) -> None:
    """Say precisely why a fingerprint cannot be claimed (the primary key on
    ``gpg_fingerprints`` is what actually guarantees it)."""
    claims = session.exec(select(GpgFingerprint, GpgKey)
                          .join(GpgKey, col(GpgKey.id) == col(GpgFingerprint.gpg_key_id))
                          .where(col(GpgFingerprint.fingerprint).in_(fingerprints))).all()
    for claim, key in claims:
        if key.revoked_at is not None:
            raise GpgKeyRevoked(f"key {claim.fingerprint} was revoked and can never be "
                                "registered again: make a new key", fingerprint=claim.fingerprint)
    for claim, key in claims:
        if key.user_id == user.id and key.fingerprint == fingerprints[0]:
            raise AlreadyExists(f"key {key.fingerprint} is already registered",
                                fingerprint=key.fingerprint)
        raise GpgKeyTaken(f"key {claim.fingerprint} is registered to another account"
                          if key.user_id != user.id else
                          f"key {claim.fingerprint} is already part of your key "
                          f"{key.fingerprint}", fingerprint=claim.fingerprint)


# -- listing and revocation -------------------------------------------------------------------
def list_keys(session: Session, principal: Principal) -> list[GpgKey]:
    return list(session.exec(select(GpgKey).where(GpgKey.user_id == principal.user_id)
                             .order_by(col(GpgKey.id))))


def revoke_key(session: Session, principal: Principal, fingerprint: str, *,
               now: datetime) -> GpgKey:
    """Revoke one of the caller's keys: its signatures are refused from now on, and its
    fingerprints can never be registered again, by anyone."""
    require_unrestricted(principal, "revoking GPG keys")
    row = session.exec(select(GpgKey).where(GpgKey.user_id == principal.user_id,
                                            GpgKey.fingerprint == fingerprint.upper())).first()
    if row is None:
        raise NotFound(f"you have no key {fingerprint}")
    if row.revoked_at is None:
        row.revoked_at = now
        session.add(row)
        audit(session, at=now, actor=principal.name, action="gpg-key:revoke",
              fingerprint=row.fingerprint)
    return row


def revoked_among(session: Session, fingerprints: list[str]) -> str | None:
    """The first of ``fingerprints`` claimed by a revoked key, if any (checked at publish)."""
    wanted = [f.upper() for f in fingerprints if f]
    if not wanted:
        return None
    hit = session.exec(select(GpgFingerprint.fingerprint)
                       .join(GpgKey, col(GpgKey.id) == col(GpgFingerprint.gpg_key_id))
                       .where(col(GpgFingerprint.fingerprint).in_(wanted),
                              col(GpgKey.revoked_at).is_not(None))).first()
    return hit


def gpg_key_public(row: GpgKey) -> GpgKeyPublic:
    return GpgKeyPublic(
        fingerprint=row.fingerprint,
        expires_at=as_utc(row.expires_at).isoformat() if row.expires_at else None,
        created_at=as_utc(row.created_at).isoformat(),
        revoked_at=as_utc(row.revoked_at).isoformat() if row.revoked_at else None)
