"""The one place a trusted-publisher row becomes a Sigstore identity policy.

    policy = identity_policy(row)          # GitHubPublisher or GenericIdentity
    check_shape(provider="identity", identity="a@tny.town",
                issuer="https://github.com/login/oauth")   # MalformedInput if malformed

Two kinds: ``github`` (a GitHub Actions workflow, the default) and ``identity`` (a personal
Sigstore identity, as ``sigstore sign`` produces from a browser login: the certificate's SAN
and the OIDC issuer, both pinned exactly). Raises ``MalformedInput`` for a row or request that
does not describe one identity.
"""

from __future__ import annotations

from app.core.errors import MalformedInput
from app.core.models import TrustedPublisher
from signing.errors import PolicyError
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
        raise MalformedInput(str(err)) from err
    raise MalformedInput(f"provider is one of {', '.join(PROVIDERS)}")


def identity_policy(row: TrustedPublisher) -> IdentityPolicy:
    """The identity ``row`` trusts. Environment is not in Fulcio certificates, so it is
    enforced when a publish token is minted, not on bundles (``signing.policy``)."""
    if row.provider == "identity":
        return build_policy(provider="identity", identity=row.identity, issuer=row.issuer)
    return GitHubPublisher(row.repository, row.workflow, None, row.ref_pattern,
                           row.repository_owner_id)


def describe(row: TrustedPublisher) -> str:
    """One line a person reads: ``a@tny.town via https://github.com/login/oauth``."""
    return identity_policy(row).describe()
