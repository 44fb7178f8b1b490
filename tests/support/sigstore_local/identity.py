"""A GitHub Actions workload identity, and how Fulcio turns it into certificate extensions.

Example::

    ident = GitHubIdentity(repository="acme/widget", workflow="release.yml",
                           ref="refs/tags/v1.0.0")
    ident.san         # 'https://github.com/acme/widget/.github/workflows/release.yml@refs/tags/v1.0.0'
    ident.oidc_claims(audience="vouch")          # the GitHub Actions OIDC token claims
    fulcio_extensions(ident)                     # {oid: DER extension value}

One identity feeds both the OIDC token minter (`oidc.py`) and the certificate authority
(`ca.py`), so a token and a certificate made from the same `GitHubIdentity` agree.

Fulcio maps the token to OIDs under 1.3.6.1.4.1.57264.1 (Fulcio `docs/oid-info.md`):
1.1-1.6 are the deprecated GitHub extensions holding raw UTF-8 bytes; 1.8-1.22 hold a DER
UTF8String. Note: Fulcio puts **no** deployment environment in the certificate; the
`environment` claim exists only in the OIDC token.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

from ._der import utf8_string

GITHUB_ACTIONS_ISSUER = "https://token.actions.githubusercontent.com"

_OID_PREFIX = "1.3.6.1.4.1.57264.1."

# OID suffix -> name, for readers and for tests that look extensions up by name.
OID_ISSUER_LEGACY = _OID_PREFIX + "1"
OID_GITHUB_WORKFLOW_TRIGGER = _OID_PREFIX + "2"
OID_GITHUB_WORKFLOW_SHA = _OID_PREFIX + "3"
OID_GITHUB_WORKFLOW_NAME = _OID_PREFIX + "4"
OID_GITHUB_WORKFLOW_REPOSITORY = _OID_PREFIX + "5"
OID_GITHUB_WORKFLOW_REF = _OID_PREFIX + "6"
OID_ISSUER_V2 = _OID_PREFIX + "8"
OID_BUILD_SIGNER_URI = _OID_PREFIX + "9"
OID_BUILD_SIGNER_DIGEST = _OID_PREFIX + "10"
OID_RUNNER_ENVIRONMENT = _OID_PREFIX + "11"
OID_SOURCE_REPOSITORY_URI = _OID_PREFIX + "12"
OID_SOURCE_REPOSITORY_DIGEST = _OID_PREFIX + "13"
OID_SOURCE_REPOSITORY_REF = _OID_PREFIX + "14"
OID_SOURCE_REPOSITORY_IDENTIFIER = _OID_PREFIX + "15"
OID_SOURCE_REPOSITORY_OWNER_URI = _OID_PREFIX + "16"
OID_SOURCE_REPOSITORY_OWNER_IDENTIFIER = _OID_PREFIX + "17"
OID_BUILD_CONFIG_URI = _OID_PREFIX + "18"
OID_BUILD_CONFIG_DIGEST = _OID_PREFIX + "19"
OID_BUILD_TRIGGER = _OID_PREFIX + "20"
OID_RUN_INVOCATION_URI = _OID_PREFIX + "21"
OID_SOURCE_REPOSITORY_VISIBILITY = _OID_PREFIX + "22"


def _stable_number(text: str, digits: int) -> str:
    """A deterministic decimal id derived from `text` (GitHub ids are opaque numbers)."""
    value = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
    return str(value % 10**digits + 10 ** (digits - 1))


@dataclass(frozen=True)
class GitHubIdentity:
    """Who signs: one run of a GitHub Actions workflow.

    `workflow` is the workflow *file name* (``release.yml``); `repository` is ``owner/name``.
    `issuer` is the OIDC issuer written into the certificate and the token; change it to make
    a "wrong issuer" signature. `job_workflow_ref` is only set for reusable workflows (the
    build *signer* then differs from the build *config*). Every other field has a realistic
    default derived from the repository.
    """

    repository: str
    workflow: str = "release.yml"
    ref: str = "refs/tags/v1.0.0"
    sha: str = "a" * 40
    environment: str | None = None
    trigger: str = "push"
    issuer: str = GITHUB_ACTIONS_ISSUER
    workflow_name: str = "Release"
    runner_environment: str = "github-hosted"
    visibility: str = "public"
    run_id: str = "1234567890"
    run_attempt: str = "1"
    repository_id: str | None = None
    owner_id: str | None = None
    job_workflow_ref: str | None = None
    actor: str = "octocat"

    def __post_init__(self) -> None:
        if self.repository.count("/") != 1 or not all(self.repository.split("/")):
            raise ValueError(f"repository must be OWNER/NAME, got {self.repository!r}")
        if "/" in self.workflow or not self.workflow:
            raise ValueError(f"workflow must be a file name, got {self.workflow!r}")

    def with_(self, **changes: Any) -> GitHubIdentity:
        """A copy with some fields changed (``ident.with_(ref="refs/heads/main")``)."""
        return replace(self, **changes)

    @property
    def owner(self) -> str:
        return self.repository.split("/")[0]

    @property
    def workflow_ref(self) -> str:
        """``owner/repo/.github/workflows/FILE@REF``, GitHub's `workflow_ref` claim."""
        return f"{self.repository}/.github/workflows/{self.workflow}@{self.ref}"

    @property
    def effective_job_workflow_ref(self) -> str:
        return self.job_workflow_ref or self.workflow_ref

    @property
    def san(self) -> str:
        """The certificate's URI SAN, as Fulcio derives it from `job_workflow_ref`."""
        return f"https://github.com/{self.effective_job_workflow_ref}"

    @property
    def build_config_uri(self) -> str:
        return f"https://github.com/{self.workflow_ref}"

    @property
    def source_repository_uri(self) -> str:
        return f"https://github.com/{self.repository}"

    @property
    def resolved_repository_id(self) -> str:
        return self.repository_id or _stable_number(self.repository, 9)

    @property
    def resolved_owner_id(self) -> str:
        return self.owner_id or _stable_number(self.owner, 8)

    @property
    def subject(self) -> str:
        """The token's `sub` claim, shaped the way GitHub shapes it by default."""
        if self.environment:
            return f"repo:{self.repository}:environment:{self.environment}"
        if self.trigger == "pull_request":
            return f"repo:{self.repository}:pull_request"
        return f"repo:{self.repository}:ref:{self.ref}"

    def oidc_claims(self, *, audience: str) -> dict[str, Any]:
        """The identity claims of a GitHub Actions OIDC token (no iat/nbf/exp/jti).

        Time and token-id claims are added by `oidc.make_github_oidc_token`.
        """
        ref_type = "tag" if self.ref.startswith("refs/tags/") else "branch"
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": audience,
            "sub": self.subject,
            "ref": self.ref,
            "ref_type": ref_type,
            "sha": self.sha,
            "repository": self.repository,
            "repository_id": self.resolved_repository_id,
            "repository_owner": self.owner,
            "repository_owner_id": self.resolved_owner_id,
            "repository_visibility": self.visibility,
            "run_id": self.run_id,
            "run_number": "1",
            "run_attempt": self.run_attempt,
            "actor": self.actor,
            "actor_id": _stable_number(self.actor, 7),
            "workflow": self.workflow_name,
            "workflow_ref": self.workflow_ref,
            "workflow_sha": self.sha,
            "job_workflow_ref": self.effective_job_workflow_ref,
            "job_workflow_sha": self.sha,
            "event_name": self.trigger,
            "head_ref": "",
            "base_ref": "",
            "runner_environment": self.runner_environment,
        }
        if self.environment:
            claims["environment"] = self.environment
        return claims


def fulcio_extensions(identity: GitHubIdentity) -> dict[str, bytes]:
    """Map an identity to Fulcio's certificate extensions: ``{dotted OID: extension value}``.

    The values are the exact bytes placed inside the extension's OCTET STRING: raw UTF-8 for
    the deprecated 1.1-1.6, a DER UTF8String for 1.8-1.22 (sigstore-python reads them so).
    """
    raw = {
        OID_ISSUER_LEGACY: identity.issuer,
        OID_GITHUB_WORKFLOW_TRIGGER: identity.trigger,
        OID_GITHUB_WORKFLOW_SHA: identity.sha,
        OID_GITHUB_WORKFLOW_NAME: identity.workflow_name,
        OID_GITHUB_WORKFLOW_REPOSITORY: identity.repository,
        OID_GITHUB_WORKFLOW_REF: identity.ref,
    }
    der = {
        OID_ISSUER_V2: identity.issuer,
        OID_BUILD_SIGNER_URI: identity.san,
        OID_BUILD_SIGNER_DIGEST: identity.sha,
        OID_RUNNER_ENVIRONMENT: identity.runner_environment,
        OID_SOURCE_REPOSITORY_URI: identity.source_repository_uri,
        OID_SOURCE_REPOSITORY_DIGEST: identity.sha,
        OID_SOURCE_REPOSITORY_REF: identity.ref,
        OID_SOURCE_REPOSITORY_IDENTIFIER: identity.resolved_repository_id,
        OID_SOURCE_REPOSITORY_OWNER_URI: f"https://github.com/{identity.owner}",
        OID_SOURCE_REPOSITORY_OWNER_IDENTIFIER: identity.resolved_owner_id,
        OID_BUILD_CONFIG_URI: identity.build_config_uri,
        OID_BUILD_CONFIG_DIGEST: identity.sha,
        OID_BUILD_TRIGGER: identity.trigger,
        OID_RUN_INVOCATION_URI: (
            f"https://github.com/{identity.repository}/actions/runs/"
            f"{identity.run_id}/attempts/{identity.run_attempt}"
        ),
        OID_SOURCE_REPOSITORY_VISIBILITY: identity.visibility,
    }
    out = {oid: value.encode("utf-8") for oid, value in raw.items()}
    out.update({oid: utf8_string(value) for oid, value in der.items()})
    return out
