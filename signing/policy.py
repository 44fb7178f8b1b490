"""Identity policies: who may sign for a package.

    >>> from signing.policy import GitHubPublisher, GenericIdentity, AnyOf
    >>> tp = GitHubPublisher("octo/widgets", "release.yml", ref_pattern="refs/tags/v*")
    >>> person = GenericIdentity(san="alice@example.com", issuer="https://github.com/login/oauth")
    >>> policy = AnyOf([tp, person])     # a package may have several trusted publishers
    >>> person.describe()
    'alice@example.com via https://github.com/login/oauth'

Each policy's `verify(cert)` raises `IdentityMismatch` (with what differed) or returns None; it
matches sigstore-python's `VerificationPolicy` protocol so the verifier calls it only after the
certificate chain and SCT are verified. Identity and issuer are always both pinned; building a
policy that pins neither, or an empty `AnyOf`, raises `PolicyError`: an empty policy is an
error, never a pass.

`GitHubPublisher` checks a certificate the way pypi-attestations' Trusted Publisher policy does:
issuer (1.8/1.1) is GitHub Actions, Source Repository URI (1.12) is the repository, and Build
Config URI (1.18) is `https://github.com/{repo}/.github/workflows/{workflow}@{ref or sha}`.
Fulcio certificates carry no GitHub *environment* claim, so `environment` is enforced on the
OIDC token when a publish token is minted (`verify_oidc_claims`), as PyPI does, not on bundles.

`repository_owner_id` (GitHub's numeric account id of the repository's owner) is checked on
both: a certificate's Source Repository Owner Identifier (1.17) and a token's
`repository_owner_id` claim must equal it. A repository deleted and re-created under the same
name by another account has a new owner id, so neither its tokens nor its bundles pass. A
certificate without 1.17 fails a publisher that has an owner id (fail closed).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from cryptography import x509

from signing.errors import IdentityMismatch, PolicyError
from signing.fulcio import GITHUB_ACTIONS_ISSUER, CertificateClaims, certificate_claims

if TYPE_CHECKING:
    from signing.oidc import GitHubOidcClaims

_REPO_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
_WORKFLOW_RE = re.compile(r"^[A-Za-z0-9._-]+\.ya?ml$")
_OWNER_ID_RE = re.compile(r"^[0-9]{1,20}$")


class IdentityPolicy:
    """Base class of the policies below. Subclasses implement `check(claims)`."""

    def verify(self, cert: x509.Certificate) -> None:
        """sigstore-python policy hook. Raises `IdentityMismatch`."""
        self.check(certificate_claims(cert))

    def check(self, claims: CertificateClaims) -> None:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


class GitHubPublisher(IdentityPolicy):
    """A GitHub Actions trusted publisher: repository `owner/name` and workflow file name.

    `ref_pattern` (optional) is an fnmatch-style, case-sensitive pattern over the git ref
    (e.g. `refs/tags/v*`). Repository names compare case-insensitively, as GitHub's do.
    `repository_owner_id` (optional) pins the owner's numeric GitHub id.
    Raises `PolicyError` if repository, workflow or owner id is missing or malformed.
    """

    def __init__(
        self,
        repository: str,
        workflow: str,
        environment: str | None = None,
        ref_pattern: str | None = None,
        repository_owner_id: str | None = None,
    ) -> None:
        if not repository or not _REPO_RE.match(repository):
            raise PolicyError(f"repository must be OWNER/NAME, got {repository!r}")
        workflow = workflow.removeprefix(".github/workflows/")
        if not workflow or not _WORKFLOW_RE.match(workflow):
            raise PolicyError(f"workflow must be a workflow file name like release.yml, "
                              f"got {workflow!r}")
        if environment is not None and not environment.strip():
            raise PolicyError("environment, when given, must not be empty")
        if ref_pattern is not None and not ref_pattern.strip():
            raise PolicyError("ref_pattern, when given, must not be empty")
        if repository_owner_id is not None and not _OWNER_ID_RE.match(repository_owner_id):
            raise PolicyError(f"repository_owner_id must be GitHub's numeric id, got "
                              f"{repository_owner_id!r}")
        self.repository = repository
        self.repository_owner_id = repository_owner_id
        self.workflow = workflow
        self.environment = environment
        self.ref_pattern = ref_pattern

    @property
    def _repo_url(self) -> str:
        return f"https://github.com/{self.repository}"

    def check(self, claims: CertificateClaims) -> None:
        if not claims.issuer_matches(GITHUB_ACTIONS_ISSUER):
            raise IdentityMismatch(
                f"issuer is {claims.issuer!r}, expected {GITHUB_ACTIONS_ISSUER!r}"
            )
        source = claims.source_repository_uri
        if source is None or source.lower() != self._repo_url.lower():
            raise IdentityMismatch(
                f"source repository is {source!r}, expected {self._repo_url!r}"
            )
        self._check_owner_id(claims.source_repository_owner_identifier)
        build_config = claims.build_config_uri
        suffixes = [s for s in (claims.source_repository_ref, claims.source_repository_digest)
                    if s]
        if not suffixes:
            raise IdentityMismatch("certificate has neither Source Repository Ref nor Digest")
        prefix = f"{self._repo_url}/.github/workflows/{self.workflow}@".lower()
        if build_config is None or not any(
            build_config.lower().startswith(prefix)
            and build_config[len(prefix):] == suffix
            for suffix in suffixes
        ):
            raise IdentityMismatch(
                f"build config URI is {build_config!r}, expected workflow "
                f"{self.workflow} of {self.repository} at {claims.ref!r}"
            )
        self._check_ref(claims.ref)

    def _check_owner_id(self, owner_id: str | None) -> None:
        # Same owner/name, different account: the repository was deleted and its name taken
        # by someone else. Never let the newcomer sign or publish.
        if self.repository_owner_id is not None and owner_id != self.repository_owner_id:
            raise IdentityMismatch(
                f"the repository owner id changed: {self.repository} belongs to owner id "
                f"{owner_id!r}, expected {self.repository_owner_id!r} (deleted and re-created "
                "by another account?)"
            )

    def _check_ref(self, ref: str | None) -> None:
        if self.ref_pattern is None:
            return
        if ref is None or not fnmatchcase(ref, self.ref_pattern):
            raise IdentityMismatch(f"ref is {ref!r}, expected one matching {self.ref_pattern!r}")

    def verify_oidc_claims(self, claims: GitHubOidcClaims) -> None:
        """Match a verified GitHub Actions OIDC token (for minting publish tokens).

        Checks repository, its owner id, top-level workflow (`workflow_ref`), environment
        and ref. Raises `IdentityMismatch`.
        """
        if claims.repository.lower() != self.repository.lower():
            raise IdentityMismatch(
                f"repository is {claims.repository!r}, expected {self.repository!r}"
            )
        self._check_owner_id(claims.repository_owner_id)
        workflow_prefix = f"{self.repository}/.github/workflows/{self.workflow}@".lower()
        if not (claims.workflow_ref or "").lower().startswith(workflow_prefix):
            raise IdentityMismatch(
                f"workflow_ref is {claims.workflow_ref!r}, expected workflow {self.workflow}"
            )
        if self.environment is not None and claims.environment != self.environment:
            raise IdentityMismatch(
                f"environment is {claims.environment!r}, expected {self.environment!r}"
            )
        self._check_ref(claims.ref)

    def describe(self) -> str:
        text = f"github:{self.repository}/.github/workflows/{self.workflow}"
        if self.environment:
            text += f" (environment {self.environment})"
        if self.ref_pattern:
            text += f" (ref {self.ref_pattern})"
        if self.repository_owner_id:
            text += f" (owner id {self.repository_owner_id})"
        return text

    def __repr__(self) -> str:
        return (f"GitHubPublisher({self.repository!r}, {self.workflow!r}, "
                f"environment={self.environment!r}, ref_pattern={self.ref_pattern!r}, "
                f"repository_owner_id={self.repository_owner_id!r})")


class GenericIdentity(IdentityPolicy):
    """Any Fulcio identity: a SAN (exact `san`, or `san_regex` matched in full) plus its issuer.

    Exactly one of `san` / `san_regex`, and `issuer`, are required; otherwise `PolicyError`
    (also for a regular expression that does not compile).
    """

    def __init__(
        self, *, san: str | None = None, san_regex: str | None = None, issuer: str
    ) -> None:
        if (san is None) == (san_regex is None) or (san is not None and not san.strip()):
            raise PolicyError("exactly one of san or san_regex must be given, and not empty")
        if not issuer or not issuer.strip():
            raise PolicyError("issuer must be pinned together with the identity")
        self.san = san
        self.issuer = issuer
        self.san_regex = san_regex
        self._pattern: re.Pattern[str] | None = None
        if san_regex is not None:
            if not san_regex.strip():
                raise PolicyError("san_regex must not be empty")
            try:
                self._pattern = re.compile(san_regex)
            except re.error as err:
                raise PolicyError(f"san_regex does not compile: {err}") from err

    def check(self, claims: CertificateClaims) -> None:
        if not claims.issuer_matches(self.issuer):
            raise IdentityMismatch(f"issuer is {claims.issuer!r}, expected {self.issuer!r}")
        if self._pattern is not None:
            pattern = self._pattern
            ok = any(pattern.fullmatch(name) for name in claims.sans)
        else:
            ok = self.san in claims.sans
        if not ok:
            expected = self.san if self.san is not None else f"/{self.san_regex}/"
            raise IdentityMismatch(f"identity is {claims.identity!r}, expected {expected!r}")

    def describe(self) -> str:
        who = self.san if self.san is not None else f"/{self.san_regex}/"
        return f"{who} via {self.issuer}"

    def __repr__(self) -> str:
        return f"GenericIdentity(san={self.san!r}, san_regex={self.san_regex!r}, " \
               f"issuer={self.issuer!r})"


class AnyOf(IdentityPolicy):
    """Passes if any child passes. An empty list raises `PolicyError` (never a pass)."""

    def __init__(self, policies: Sequence[IdentityPolicy]) -> None:
        if not policies:
            raise PolicyError("no trusted identities configured: refusing an empty policy")
        for child in policies:
            if not isinstance(child, IdentityPolicy):
                raise PolicyError(f"not an identity policy: {child!r}")
        self.policies = tuple(policies)

    def check(self, claims: CertificateClaims) -> None:
        reasons: list[str] = []
        for child in self.policies:
            try:
                child.check(claims)
                return
            except IdentityMismatch as err:
                reasons.append(f"{child.describe()}: {err.detail}")
        raise IdentityMismatch("no trusted identity matched: " + "; ".join(reasons))

    def describe(self) -> str:
        return "any of [" + ", ".join(p.describe() for p in self.policies) + "]"


def require_policy(policy: object) -> IdentityPolicy:
    """Return `policy` if it is a usable identity policy, else raise `PolicyError`."""
    if policy is None:
        raise PolicyError("no identity policy given: refusing to verify against nothing")
    if isinstance(policy, Sequence) and not isinstance(policy, str):
        return AnyOf(list(policy))
    if not isinstance(policy, IdentityPolicy):
        raise PolicyError(f"not an identity policy: {policy!r}")
    return policy
