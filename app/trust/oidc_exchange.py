"""Trusted publishing: exchange a CI OIDC token for a short-lived publish token (PyPI's model).

    jwks = JwksSource(file=Path("jwks.json"), issuer=GITHUB_ISSUER, clock=clock)
    exchange = OidcExchange(engine=engine, clock=clock, jwks=jwks, audience="vouch",
                            issuer=GITHUB_ISSUER, lifetime=timedelta(minutes=15))
    minted = exchange.mint(github_jwt)   # MintedToken(secret="vouch_...", expires_at=..., ...)

Steps (research/registries-and-protocols.md, table 1b): verify the JWT against the issuer's
JWKS (`signing.oidc.verify_github_oidc`: RS256, issuer, audience, exp/iat/nbf against the
injected clock); refuse `pull_request_target` runs; match the claims against the registered
trusted publishers through the policy publishing uses (`identities.verify_oidc_claims` over
`signing.policy.GitHubPublisher`: repository case-insensitive, its
owner's numeric id once bound, workflow file from `job_workflow_ref`, environment when the
publisher names one, ref pattern); keep only publishers that act for their registrant now
(`publisher_rules`: the registrant still owns the package or the org, a pending publisher
has not expired, and a pending name is not claimed by several accounts' publishers for this
workflow); consume the token's `jti` (the primary key of `used_oidc_tokens` decides, so a
replay loses even when it races); mint a publish-only token that covers exactly the matched
publishers' packages (or `@scope/*`).

Minting never creates a package, even for a pending publisher (Warehouse does): the package
comes into existence with its first published version, in one transaction whose unique
package name decides a race with any other first publish; that transaction invalidates the
other accounts' pending publishers (``publisher_rules.claim_pending``). So a name is never
taken by a token alone, and an upload that fails leaves no empty package behind.

Failures (domain errors, mapped to problem+json): `InvalidOidcToken` (401, `invalid_token`),
`InvalidPublisher` (403, `invalid_publisher`), `ReusedOidcToken` (401, `invalid_reuse_token`),
`JwksUnavailable` (503, `oidc_jwks_unavailable`).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt
from sqlalchemy import delete, func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts.service import mint_publisher_token
from app.core.clock import Clock
from app.core.db import session_scope
from app.core.errors import MalformedInput
from app.core.models import Org, TrustedPublisher, UsedOidcToken
from app.core.records import audit
from app.trust import identities, publisher_rules
from app.trust.errors import (
    InvalidOidcToken,
    InvalidPublisher,
    JwksUnavailable,
    ReusedOidcToken,
    invalid_oidc_token,
)
from signing.errors import IdentityMismatch, OidcTokenInvalid
from signing.oidc import GitHubOidcClaims, verify_github_oidc

if TYPE_CHECKING:
    import httpx  # imported with the first JWKS fetch (issue 13: idle memory)

log = logging.getLogger("vouch.oidc")

JWKS_TTL = timedelta(minutes=10)
#: An unknown `kid` triggers a refetch (key rotation), but at most this often, so a stream of
#: forged tokens cannot turn the registry into a load generator against the issuer.
JWKS_MIN_REFRESH = timedelta(seconds=60)
#: Used jtis are kept well past any token's expiry plus the verifier's leeway, then pruned.
USED_JTI_RETENTION = timedelta(minutes=10)
MAX_JTI_LENGTH = 256  # the column's size


@dataclass(frozen=True)
class MintedToken:
    """The secret (shown once), when it expires, and what it may publish."""

    secret: str
    expires_at: datetime
    packages: list[str]
    publisher_ids: list[int]


class JwksSource:
    """The issuer's signing keys, from a file (air-gapped installs, tests) or a URL.

    With neither, the URL is discovered from ``{issuer}/.well-known/openid-configuration``.
    Keys are cached for `ttl`; a token naming a `kid` the cache lacks forces a refetch at most
    every `min_refresh`. A file is read at construction (a bad file fails start-up, raising
    `JwksUnavailable`) and re-read after `ttl`. `jwks_for` raises `JwksUnavailable` when no
    usable JWKS can be had and none is cached.
    """

    def __init__(self, *, issuer: str, clock: Clock, file: Path | None = None,
                 url: str | None = None, ttl: timedelta = JWKS_TTL,
                 min_refresh: timedelta = JWKS_MIN_REFRESH, timeout: float = 5.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.issuer = issuer.rstrip("/")
        self.clock = clock
        self.file = file
        self.url = url
        self.ttl = ttl
        self.min_refresh = min_refresh
        self._timeout = timeout
        self._transport = transport
        self._http: httpx.Client | None = None  # built by the first fetch (_get_json)
        self._lock = threading.Lock()
        self._jwks: dict[str, Any] | None = None
        self._fetched_at: datetime | None = None
        if file is not None:
            self._refresh()

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    def jwks_for(self, kid: str | None) -> Mapping[str, Any]:
        with self._lock:
            now = self.clock.now()
            age = now - self._fetched_at if self._fetched_at else None
            stale = age is None or age >= self.ttl
            unknown_kid = (kid is not None and self._jwks is not None
                           and kid not in _kids(self._jwks))
            if stale or (unknown_kid and age is not None and age >= self.min_refresh):
                try:
                    self._refresh()
                except JwksUnavailable:
                    if self._jwks is None:
                        raise
                    log.warning("could not refresh the OIDC JWKS; using the cached keys",
                                exc_info=True)
            assert self._jwks is not None
            return self._jwks

    def _refresh(self) -> None:
        self._jwks = self._load()
        self._fetched_at = self.clock.now()

    def _load(self) -> dict[str, Any]:
        if self.file is not None:
            try:
                document = json.loads(self.file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as err:
                raise JwksUnavailable(f"cannot read the OIDC JWKS file {self.file}: {err}"
                                      ) from err
            return _checked(document, str(self.file))
        url = self.url or self._discover()
        return _checked(self._get_json(url), url)

    def _discover(self) -> str:
        config = self._get_json(f"{self.issuer}/.well-known/openid-configuration")
        uri = config.get("jwks_uri") if isinstance(config, dict) else None
        if not isinstance(uri, str) or not uri.startswith("https://"):
            raise JwksUnavailable(f"the issuer {self.issuer} publishes no https jwks_uri")
        return uri

    def _get_json(self, url: str) -> Any:
        import httpx

        if self._http is None:
            self._http = httpx.Client(timeout=self._timeout, transport=self._transport,
                                      follow_redirects=False)
        try:
            response = self._http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as err:
            raise JwksUnavailable(f"cannot fetch the OIDC keys from {url}: {err}") from err


def _kids(jwks: Mapping[str, Any]) -> set[str]:
    return {str(k.get("kid")) for k in jwks.get("keys", []) if isinstance(k, Mapping)}


def _checked(document: Any, source: str) -> dict[str, Any]:
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JwksUnavailable(f"{source} is not a JWKS document (no 'keys' list)")
    return document


class OidcExchange:
    """Mints publish tokens for verified CI identities; built once per registry."""

    def __init__(self, *, engine: Engine, clock: Clock, jwks: JwksSource, audience: str,
                 issuer: str, lifetime: timedelta) -> None:
        self.engine = engine
        self.clock = clock
        self.jwks = jwks
        self.audience = audience
        self.issuer = issuer
        self.lifetime = lifetime

    def mint(self, token: str, *,
             accept: Callable[[list[str]], None] | None = None) -> MintedToken:
        """Verify `token`, match it to trusted publishers and mint; see the module docstring.
        ``accept(packages)`` may refuse (raise) before anything is written: no token is
        minted and the OIDC token is not consumed (npm's exchange names one package)."""
        now = self.clock.now()
        claims = self._verify(token, now)
        if claims.event_name == "pull_request_target":
            # A pull_request_target run executes with the base repository's secrets and
            # identity on behalf of a fork's pull request: never a publishing identity.
            raise InvalidPublisher("tokens from pull_request_target workflow runs cannot "
                                   "publish", event_name=claims.event_name)
        with session_scope(self.engine, write=True) as session:
            publishers = matching_publishers(session, claims, now)
            _consume_jti(session, claims, now)
            _bind_owner_ids(session, publishers, claims, now)
            packages = sorted({publisher_target(session, p) for p in publishers})
            if accept is not None:
                accept(packages)  # raising rolls back the jti use and owner binding too
            # Bound to the first (oldest) matching publisher; see `MintedToken.publisher_ids`.
            _, secret = mint_publisher_token(
                session, publishers[0], packages, now=now, lifetime=self.lifetime,
                claims={"job_workflow_ref": claims.job_workflow_ref, "ref": claims.ref,
                        "sha": claims.sha})
        log.info("minted a publish token for %s (%s) covering %s", claims.repository,
                 claims.job_workflow_ref, ", ".join(packages))
        return MintedToken(secret=secret, expires_at=now + self.lifetime, packages=packages,
                           publisher_ids=[p.id for p in publishers if p.id is not None])

    def _verify(self, token: str, now: datetime) -> GitHubOidcClaims:
        """``InvalidOidcToken`` (401) for a token that is not a well-formed RS256 JWT, checked
        before the keys are needed, so only a well-formed token that cannot be checked gets
        ``JwksUnavailable`` (503)."""
        kid = _well_formed_kid(token)
        try:
            claims = verify_github_oidc(token, jwks=self.jwks.jwks_for(kid),
                                        audience=self.audience, issuer=self.issuer, now=now)
        except OidcTokenInvalid as err:
            raise invalid_oidc_token(err) from err
        if len(claims.jti) > MAX_JTI_LENGTH:
            raise InvalidOidcToken("the OIDC token's jti is too long")
        return claims


def _well_formed_kid(token: str) -> str | None:
    """The key id of a token whose header and claims parse as an RS256 JWT; nothing is
    verified yet. Raises ``InvalidOidcToken``."""
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError) as err:
        raise InvalidOidcToken(f"the OIDC token is invalid: not a JWT: {err}") from err
    if header.get("alg") != "RS256":
        raise InvalidOidcToken(f"the OIDC token is invalid: algorithm {header.get('alg')!r} "
                               "is not allowed (RS256 only)")
    if not isinstance(claims, dict):
        raise InvalidOidcToken("the OIDC token is invalid: its claims are not an object")
    kid = header.get("kid")
    return kid if isinstance(kid, str) else None


def matching_publishers(session: Session, claims: GitHubOidcClaims,
                        now: datetime) -> list[TrustedPublisher]:
    """GitHub publishers of the token's repository whose identity matches the claims and that
    act for their registrant now, oldest first. Raises `InvalidPublisher` (with every reason)
    when none does."""
    rows = session.exec(
        select(TrustedPublisher)
        .where(TrustedPublisher.provider == "github",
               func.lower(TrustedPublisher.repository) == claims.repository.lower())
        .order_by(col(TrustedPublisher.id))).all()
    # PyPI matches the workflow file against job_workflow_ref: the workflow whose job asked
    # for the token (a reusable workflow's own file, when one is called).
    as_job = replace(claims, workflow_ref=claims.job_workflow_ref)
    matched: list[TrustedPublisher] = []
    reasons: list[str] = []
    for row in rows:
        try:
            identities.verify_oidc_claims(row, as_job)
        except (IdentityMismatch, MalformedInput) as err:
            reasons.append(f"publisher {row.id}: {err.detail}")
            continue
        why_not = publisher_rules.why_not_acting(session, row, now)
        if why_not is not None:
            reasons.append(f"publisher {row.id}: {why_not}")
            continue
        matched.append(row)
    matched = _unambiguous(session, matched, reasons)
    if not matched:
        detail = f"no trusted publisher matches {claims.repository} ({claims.job_workflow_ref})"
        raise InvalidPublisher(detail + (": " + "; ".join(reasons) if reasons else ""),
                               repository=claims.repository)
    return matched


def _unambiguous(session: Session, rows: list[TrustedPublisher],
                 reasons: list[str]) -> list[TrustedPublisher]:
    """Drop pending names that several accounts registered this same workflow for: whoever
    the new package's owner would be, the workflow's owner could not tell (one of them
    registered someone else's repository). Publishing it by hand settles the name."""
    registrants: dict[str, set[str]] = {}
    for row in rows:
        if row.package_name is not None and publisher_rules.is_pending(session, row):
            registrants.setdefault(row.package_name, set()).add(row.created_by)
    ambiguous = {name for name, users in registrants.items() if len(users) > 1}
    for name in sorted(ambiguous):
        reasons.append(f"{name}: pending publishers for this workflow were registered by "
                       f"several accounts ({', '.join(sorted(registrants[name]))}); the name "
                       "must first be claimed by publishing it")
    return [r for r in rows if r.package_name not in ambiguous]


def _bind_owner_ids(session: Session, publishers: list[TrustedPublisher],
                    claims: GitHubOidcClaims, now: datetime) -> None:
    """Trust on first use: remember the owner id a publisher was first used with."""
    for row in publishers:
        if not row.repository_owner_id:
            row.repository_owner_id = claims.repository_owner_id
            session.add(row)
            audit(session, at=now, actor=f"github:{claims.repository}",
                  action="trusted-publisher:bind-owner", publisher_id=row.id,
                  repository_owner_id=claims.repository_owner_id)


def publisher_target(session: Session, publisher: TrustedPublisher) -> str:
    """The package pattern a publisher covers: its package name, or ``@scope/*``."""
    if publisher.package_name is not None:
        return publisher.package_name
    org = session.get(Org, publisher.org_id)
    if org is None:  # the foreign key makes this impossible; never widen the token
        raise InvalidPublisher(f"trusted publisher {publisher.id} has no package or scope")
    return f"@{org.name}/*"


def _consume_jti(session: Session, claims: GitHubOidcClaims, now: datetime) -> None:
    """Record the jti; the primary key makes a second use fail even under a race."""
    session.execute(delete(UsedOidcToken).where(
        col(UsedOidcToken.expires_at) < now - USED_JTI_RETENTION))
    try:
        with session.begin_nested():
            session.add(UsedOidcToken(jti=claims.jti, expires_at=claims.expires_at))
            session.flush()
    except IntegrityError as err:
        raise ReusedOidcToken("this OIDC token was already exchanged; request a new one"
                              ) from err
