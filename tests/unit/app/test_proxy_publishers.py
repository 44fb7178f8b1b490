"""Which identity an upstream's provenance must be signed by (issue 17): PEP 740 publishers
of every kind PyPI defines (and Vouch's ``Sigstore`` identities), and the GitHub repository an
npm manifest names. The real GitLab attestation must verify under the GitLab publisher's
policy and not under another project's."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from app.proxy.npm_provenance import purl, repository_policy
from app.proxy.provenance import publisher_policy
from formats.pypi.attestations import verify_attestations
from signing.errors import VerificationError
from signing.policy import GenericIdentity, GitHubPublisher
from signing.trust import TrustRoot

REAL = Path(__file__).parents[2] / "data" / "signatures" / "pypi-attestations"
GITLAB = {"kind": "GitLab", "repository": "facutuesca/gitlab-oidc-project",
          "workflow_filepath": ".gitlab-ci.yml", "environment": None}


def test_each_publisher_kind_is_a_policy() -> None:
    github = publisher_policy({"kind": "GitHub", "repository": "acme/widget",
                               "workflow": "release.yml", "environment": "pypi"})
    assert isinstance(github, GitHubPublisher) and github.environment == "pypi"
    gitlab = publisher_policy(GITLAB)
    assert isinstance(gitlab, GenericIdentity) and gitlab.issuer == "https://gitlab.com"
    assert gitlab.san_regex is not None and re.fullmatch(
        gitlab.san_regex,
        "https://gitlab.com/facutuesca/gitlab-oidc-project//.gitlab-ci.yml@refs/heads/main")
    assert not re.fullmatch(gitlab.san_regex,
                            "https://gitlab.com/facutuesca/other//.gitlab-ci.yml@refs/heads/x")
    google = publisher_policy({"kind": "Google", "email": "ci@example.org"})
    assert isinstance(google, GenericIdentity) and google.san == "ci@example.org"
    personal = publisher_policy({"kind": "Sigstore", "identity": "me@example.org",
                                 "issuer": "https://github.com/login/oauth"})
    assert isinstance(personal, GenericIdentity)
    assert (personal.san, personal.issuer) == ("me@example.org", "https://github.com/login/oauth")


@pytest.mark.parametrize("raw", [
    None, [], {"kind": "Unknown"}, {"kind": "GitHub", "repository": "acme/widget"},
    {"kind": "Sigstore", "identity": "me@example.org"}, {"kind": "GitLab", "repository": ""},
])
def test_publishers_that_cannot_be_checked_are_refused(raw: object) -> None:
    with pytest.raises(ValueError):
        publisher_policy(raw)


def test_the_real_gitlab_attestation_verifies_only_under_its_publisher() -> None:
    sdist = REAL / "gitlab_oidc_project-0.0.3.tar.gz"
    sha256 = hashlib.sha256(sdist.read_bytes()).hexdigest()
    attestations = json.dumps([json.loads(
        (REAL / f"{sdist.name}.publish.attestation").read_text())])
    trust = TrustRoot.named("public-good")
    verified = verify_attestations(attestations, filename=sdist.name, sha256=sha256,
                                   publishers=[publisher_policy(GITLAB)], trust=trust)
    assert len(verified) == 1
    other = dict(GITLAB, repository="facutuesca/another-project")
    with pytest.raises(VerificationError):
        verify_attestations(attestations, filename=sdist.name, sha256=sha256,
                            publishers=[publisher_policy(other)], trust=trust)


@pytest.mark.parametrize("repository", [
    "git+https://github.com/vouch-tests/ci.git", {"type": "git",
                                                   "url": "https://github.com/vouch-tests/ci"},
    "github:vouch-tests/ci", "git+ssh://git@github.com/vouch-tests/ci.git",
])
def test_an_npm_manifests_github_repository_is_the_policy(repository: object) -> None:
    policy = repository_policy(repository)
    assert policy.issuer == "https://token.actions.githubusercontent.com"
    assert policy.san_regex is not None and re.fullmatch(
        policy.san_regex,
        "https://github.com/vouch-tests/ci/.github/workflows/release.yml@refs/tags/v1.0.0")
    assert not re.fullmatch(policy.san_regex,
                            "https://github.com/vouch-tests/cix/.github/workflows/a.yml@x")


@pytest.mark.parametrize("repository", [None, "", "https://gitlab.com/a/b", {"url": 3},
                                        "https://github.com/only-owner"])
def test_npm_manifests_without_a_github_repository_cannot_be_checked(
        repository: object) -> None:
    with pytest.raises(ValueError):
        repository_policy(repository)


def test_npm_subject_names() -> None:
    assert purl("left-pad", "1.0.0") == "pkg:npm/left-pad@1.0.0"
    assert purl("@acme/widget", "2.0.0") == "pkg:npm/%40acme/widget@2.0.0"
