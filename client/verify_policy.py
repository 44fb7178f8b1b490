"""What `vouch verify` checks against: identity pins, trust root, advisory thresholds, ignores.

    pins = IdentityPins(repository="acme/widgets", workflow="release.yml")
    ignores = parse_ignores(["GHSA-xxxx:2026-12-31:not reachable"], today)

Raises ``UsageError`` for malformed flags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from advisories.severity import LEVELS
from client.errors import UsageError
from signing.fulcio import GITHUB_ACTIONS_ISSUER
from signing.policy import GenericIdentity, GitHubPublisher, IdentityPolicy

_WORKFLOW_IN_URI = re.compile(r"/\.github/workflows/([^@/]+)@")


@dataclass(frozen=True)
class IdentityPins:
    """What the consumer insists on, beyond the identity the registry recorded.

    A pin names a signing method as well as an identity (issue 9): ``--identity/--issuer``
    and ``--repository/--workflow`` are Sigstore pins, which a GPG-signed (or unsigned)
    artifact never satisfies; ``--gpg-fingerprint`` is a GPG pin, which a Sigstore-signed one
    never satisfies. Pinning both methods at once is a usage error.
    """

    identity: str | None = None
    issuer: str | None = None
    repository: str | None = None
    workflow: str | None = None
    gpg_fingerprint: str | None = None

    @property
    def method(self) -> str | None:
        """``sigstore``, ``gpg`` or None (nothing pinned)."""
        if self.identity or self.issuer or self.repository or self.workflow:
            return "sigstore"
        return "gpg" if self.gpg_fingerprint else None

    def policies(self) -> list[IdentityPolicy]:
        """The Sigstore pins as policies; raises ``UsageError`` for malformed pins."""
        if self.gpg_fingerprint and (self.identity or self.issuer or self.repository
                                     or self.workflow):
            raise UsageError("pin either a Sigstore identity (--identity/--issuer, "
                             "--repository/--workflow) or a GPG key (--gpg-fingerprint), "
                             "not both: a pin names the signing method too")
        result: list[IdentityPolicy] = []
        if self.identity or self.issuer:
            if not (self.identity and self.issuer):
                raise UsageError("--identity and --issuer go together")
            result.append(GenericIdentity(san=self.identity, issuer=self.issuer))
        if self.repository or self.workflow:
            if not (self.repository and self.workflow):
                raise UsageError("--repository and --workflow go together")
            result.append(GitHubPublisher(self.repository, self.workflow))
        return result


def recorded_policy(identity: dict[str, Any]) -> IdentityPolicy:
    """The identity the registry verified at publish time, as a policy to check again
    (with the repository owner's numeric id when the registry recorded one, so the same
    owner-id rule as on publish holds here)."""
    github = identity.get("github") or {}
    repository = github.get("repository")
    config_uri = github.get("workflow_ref") or ""
    workflow = _WORKFLOW_IN_URI.search(config_uri)
    if identity.get("issuer") == GITHUB_ACTIONS_ISSUER and repository and workflow:
        return GitHubPublisher(repository, workflow.group(1),
                               repository_owner_id=github.get("repository_owner_id") or None)
    return GenericIdentity(san=identity.get("identity") or "", issuer=identity.get("issuer") or "")


@dataclass(frozen=True)
class Ignore:
    advisory_id: str
    until: date | None
    reason: str

    def active(self, today: date) -> bool:
        return self.until is None or today <= self.until


def parse_ignores(values: list[str], today: date) -> list[Ignore]:
    """``ID``, ``ID:YYYY-MM-DD`` or ``ID:YYYY-MM-DD:reason``."""
    result = []
    for value in values:
        advisory_id, _, rest = value.partition(":")
        until_text, _, reason = rest.partition(":")
        until = None
        if until_text:
            try:
                until = date.fromisoformat(until_text)
            except ValueError as err:
                raise UsageError(f"--ignore {value!r}: the expiry must be YYYY-MM-DD") from err
        result.append(Ignore(advisory_id, until, reason))
    return result


@dataclass(frozen=True)
class VerifyOptions:
    pins: IdentityPins = field(default_factory=IdentityPins)
    trust: str = "public-good"
    fail_on: str = "low"
    ignores: list[Ignore] = field(default_factory=list)
    allow_unsigned: bool = False
    today: date = field(default_factory=date.today)

    def __post_init__(self) -> None:
        if self.fail_on not in LEVELS:
            raise UsageError(f"--fail-on is one of {', '.join(LEVELS)}")
