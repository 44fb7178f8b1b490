"""The one place a trusted-publisher row becomes an identity policy (``signing.policy``).

    policy = publisher_policy(row)         # GitHubPublisher or GenericIdentity
    check_shape(provider="identity", identity="a@tny.town",
                issuer="https://github.com/login/oauth")   # MalformedInput if malformed

Publishing (a Sigstore bundle's certificate, ``policy.check``) and the OIDC exchange (a
GitHub Actions token, ``GitHubPublisher.verify_oidc_claims``) match a row through this same
policy; no other module constructs ``GitHubPublisher`` from a row.

Two kinds: ``github`` (a GitHub Actions workflow, the default) and ``identity`` (a personal
Sigstore identity, as ``sigstore sign`` produces from a browser login: the certificate's SAN
and the OIDC issuer, both pinned exactly). Raises ``MalformedInput`` for a row or request that
does not describe one identity.
"""

from __future__ import annotations

from app.core.errors import MalformedInput
from app.core.models import TrustedPublisher
from app.trust.errors import malformed_policy
from signing.errors import IdentityMismatch, PolicyError
from signing.oidc import GitHubOidcClaims
from signing.policy import GenericIdentity, GitHubPublisher, IdentityPolicy

PROVIDERS = ("github", "identity")


def build_policy(*, provider: str, repository: str | None = None, workflow: str | None = None,
                 environment: str | None = None, ref_pattern: str | None = None,
                 repository_owner_id: str | None = None, identity: str | None = None,
                 issuer: str | None = None) -> IdentityPolicy:
    """The policy these fields describe; ``MalformedInput`` when they describe none (a
    missing field, a field of the other kind, a malformed value)."""
    try:
        if provider == "github":
            if identity is not None or issuer is not None:
                raise PolicyError("identity and issuer are for provider 'identity'")
            if not repository or not workflow:
                raise PolicyError("a GitHub publisher needs repository and workflow")
            return GitHubPublisher(repository, workflow, environment, ref_pattern,
                                   repository_owner_id)
        if provider == "identity":
            if any(v is not None for v in (repository, workflow, environment, ref_pattern,
                                           repository_owner_id)):
                raise PolicyError("an identity publisher takes only identity and issuer "
                                  "(repository, workflow, environment, ref_pattern and "
                                  "repository_owner_id are for provider 'github')")
            if not identity or not issuer:
                raise PolicyError("an identity publisher needs identity (e.g. an e-mail "
                                  "address) and issuer (the OIDC issuer URL)")
            if not issuer.startswith("https://"):
                raise PolicyError(f"issuer must be an https:// URL, got {issuer!r}")
            return GenericIdentity(san=identity, issuer=issuer)
    except PolicyError as err:
        raise malformed_policy(err) from err
    raise MalformedInput(f"provider is one of {', '.join(PROVIDERS)}")


def publisher_policy(row: TrustedPublisher) -> IdentityPolicy:
    """The identity ``row`` trusts, every field of the row included. The environment is not in
    Fulcio certificates, so ``check`` (bundles) ignores it and only ``verify_oidc_claims``
    (minting a publish token) enforces it (``signing.policy``). ``MalformedInput`` for a row
    that describes no identity."""
    return build_policy(provider=row.provider, repository=row.repository or None,
                        workflow=row.workflow or None, environment=row.environment,
                        ref_pattern=row.ref_pattern,
                        repository_owner_id=row.repository_owner_id or None,
                        identity=row.identity, issuer=row.issuer)


def verify_oidc_claims(row: TrustedPublisher, claims: GitHubOidcClaims) -> None:
    """Whether a verified GitHub Actions OIDC token comes from ``row``'s workflow (the match
    the OIDC exchange mints by). Raises ``IdentityMismatch`` when it does not (a personal
    identity never matches a workflow's token) and ``MalformedInput`` for a malformed row."""
    policy = publisher_policy(row)
    if not isinstance(policy, GitHubPublisher):
        raise IdentityMismatch(f"{policy.describe()} is not a GitHub Actions workflow")
    policy.verify_oidc_claims(claims)


def describe(row: TrustedPublisher) -> str:
    """One line a person reads: ``a@tny.town via https://github.com/login/oauth``."""
    return publisher_policy(row).describe()
