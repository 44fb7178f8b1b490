"""Trust configuration: trusted publishers and signature policies (GPG keys: ``gpg_keys``).

    add_publisher(session, principal, target="@acme", repository="acme/app", workflow="r.yml")

A trusted publisher may be registered before the package's first version exists (by someone
allowed to create that name): it is then *pending*, expires after 30 days, counts towards its
registrant's limit of 3, and only its registrant may remove it; ``publisher_rules`` says when
a publisher acts. Failures: ``Forbidden``, ``NotFound``, ``AlreadyExists``,
``TooManyPendingPublishers`` (409), ``MalformedInput`` (bad policy or pattern).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from app.accounts import service as accounts
from app.accounts.service import Principal
from app.core.clock import as_utc
from app.core.errors import Forbidden, MalformedInput, NotFound
from app.core.models import Org, TrustedPublisher
from app.core.records import audit
from app.publishing import ownership
from app.publishing import packages as pkgs
from app.publishing.names import parse_package_name
from app.trust import identities, pending_policies, publisher_rules
from app.trust.schemas import PublisherPublic
from app.trust.signatures import POLICIES


def _require_control(session: Session, principal: Principal, target: str, *,
                     now: datetime) -> tuple[str | None, Org | None]:
    """``target`` is a package name or ``@scope``; returns (package_name, org)."""
    if principal.user_id is None:
        raise Forbidden("trusted publishers are managed by users, not by CI tokens")
    # Trust configuration is account configuration: a limited token (read-only, or scoped to
    # some packages) must not add a publisher or weaken a policy (issue 9).
    accounts.require_unrestricted(principal, "changing trust configuration")
    if target.startswith("@") and "/" not in target:
        org = accounts.get_org(session, target[1:])
        accounts.require_org_owner(session, org, principal)
        return None, org
    name = parse_package_name(target)
    packages = pkgs.packages_named(session, name.full)  # any format: each must be the caller's
    if not packages:
        ownership.require_may_create(session, name, principal, now=now)
    for package in packages:
        ownership.require_owner(session, package, principal, "publish")
    return name.full, None


def add_publisher(session: Session, principal: Principal, *, target: str,
                  repository: str | None, workflow: str | None, environment: str | None,
                  ref_pattern: str | None, now: datetime,
                  repository_owner_id: str | None = None, provider: str = "github",
                  identity: str | None = None, issuer: str | None = None) -> TrustedPublisher:
    """Trust a GitHub workflow (``provider="github"``) or a personal Sigstore identity
    (``provider="identity"``: ``identity`` from ``issuer``) for ``target``; both kinds follow
    the same ownership and pending rules (``publisher_rules``)."""
    package_name, org = _require_control(session, principal, target, now=now)
    identities.build_policy(  # validates the shape: MalformedInput
        provider=provider, repository=repository, workflow=workflow, environment=environment,
        ref_pattern=ref_pattern, repository_owner_id=repository_owner_id, identity=identity,
        issuer=issuer)
    publisher_rules.sweep_pending(session, now)
    pending_until = None
    if package_name is not None and not pkgs.packages_named(session, package_name):
        assert principal.user_id is not None
        publisher_rules.require_pending_allowance(session, principal.user_id, principal.name,
                                                  now)
        pending_until = now + publisher_rules.PENDING_LIFETIME
    row = TrustedPublisher(package_name=package_name, org_id=org.id if org else None,
                           provider=provider, repository=repository or "",
                           workflow=(workflow or "").removeprefix(".github/workflows/"),
                           environment=environment, ref_pattern=ref_pattern,
                           repository_owner_id=repository_owner_id, identity=identity,
                           issuer=issuer, created_at=now, created_by=principal.name,
                           pending_expires_at=pending_until)
    session.add(row)
    session.flush()
    audit(session, at=now, actor=principal.name, action="trusted-publisher:add",
          package=package_name, org=org.name if org else None, publisher_id=row.id,
          provider=provider, repository=repository, workflow=workflow and row.workflow,
          environment=environment, ref_pattern=ref_pattern, identity=identity, issuer=issuer,
          pending_expires_at=pending_until.isoformat() if pending_until else None)
    return row


def publishers_for(session: Session, package_name: str) -> list[TrustedPublisher]:
    """Publishers registered for the package itself and for its scope's org, acting or not."""
    return publisher_rules.publishers_for(session, package_name)


def list_publishers(session: Session, target: str) -> list[TrustedPublisher]:
    if target.startswith("@") and "/" not in target:
        org = accounts.get_org(session, target[1:])
        return list(session.exec(select(TrustedPublisher).where(
            TrustedPublisher.org_id == org.id)))
    return publishers_for(session, target)


def remove_publisher(session: Session, principal: Principal, publisher_id: int, *,
                     now: datetime) -> None:
    row = session.get(TrustedPublisher, publisher_id)
    if row is None:
        raise NotFound(f"trusted publisher {publisher_id} does not exist")
    if row.org_id is not None:
        org = session.get(Org, row.org_id)
        assert org is not None
        _require_control(session, principal, f"@{org.name}", now=now)
    else:
        assert row.package_name is not None
        _require_control(session, principal, row.package_name, now=now)
        if (publisher_rules.is_pending(session, row) and row.created_by != principal.name
                and not principal.is_admin and not _owns_scope_of(session, row, principal)):
            # Anyone may create an unclaimed name, but nobody removes another's claim on it
            # (except the owners of the name's scope).
            raise Forbidden(f"trusted publisher {publisher_id} is pending; only "
                            f"{row.created_by} may remove it")
    # Tokens minted for this publisher die with it (and must not block the delete).
    publisher_rules.revoke_minted_tokens(session, row, now)
    session.delete(row)
    audit(session, at=now, actor=principal.name, action="trusted-publisher:remove",
          package=row.package_name, publisher_id=publisher_id,
          repository=row.repository or None, identity=row.identity, issuer=row.issuer)


def _owns_scope_of(session: Session, row: TrustedPublisher, principal: Principal) -> bool:
    scope = parse_package_name(row.package_name or "").scope
    if scope is None:
        return False
    member = accounts.membership(session, accounts.get_org(session, scope), principal.user_id)
    return member is not None and member.role == "owner"


def publisher_public(row: TrustedPublisher, session: Session) -> PublisherPublic:
    org = session.get(Org, row.org_id) if row.org_id else None
    assert row.id is not None
    return PublisherPublic(
        id=row.id, package=row.package_name, scope=f"@{org.name}" if org else None,
        provider=row.provider, repository=row.repository or None,
        repository_owner_id=row.repository_owner_id, workflow=row.workflow or None,
        environment=row.environment, ref_pattern=row.ref_pattern, identity=row.identity,
        issuer=row.issuer, describe=identities.describe(row), created_by=row.created_by,
        created_at=as_utc(row.created_at).isoformat(),
        pending_expires_at=(as_utc(row.pending_expires_at).isoformat()
                            if row.pending_expires_at else None))


# -- policies ---------------------------------------------------------------------------------
def set_policy(session: Session, principal: Principal, target: str, policy: str | None, *,
               now: datetime) -> datetime | None:
    """Set (``None``: clear) the policy of a package or ``@scope``. On a name that does not
    exist yet (one the caller may create) the policy is *pending* (``pending_policies``);
    returns when it expires, else None."""
    if policy is not None and policy not in POLICIES:
        raise MalformedInput(f"policy is one of {', '.join(POLICIES)}")
    package_name, org = _require_control(session, principal, target, now=now)
    if org is not None:
        org.signature_policy = policy
        session.add(org)
    else:
        assert package_name is not None
        packages = pkgs.packages_named(session, package_name)
        if not packages:
            return pending_policies.set_pending(session, principal, package_name, policy,
                                                now=now)
        for package in packages:
            package.signature_policy = policy
            session.add(package)
    audit(session, at=now, actor=principal.name, action="signature-policy:set",
          package=package_name, org=org.name if org else None, policy=policy)
    return None
