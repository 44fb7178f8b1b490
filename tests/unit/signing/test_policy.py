"""Identity policies over Fulcio-like certificates made here (claims only; no chain)."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from signing.errors import IdentityMismatch, PolicyError
from signing.fulcio import certificate_claims, decode_der_utf8string
from signing.policy import AnyOf, GenericIdentity, GitHubPublisher, require_policy

GHA = "https://token.actions.githubusercontent.com"
KEY = ec.generate_private_key(ec.SECP256R1())


def _der_utf8(value: str) -> bytes:
    raw = value.encode()
    assert len(raw) < 128
    return bytes([0x0C, len(raw)]) + raw


def make_cert(san: str = "https://github.com/octo/widgets/.github/workflows/release.yml"
                         "@refs/tags/v1.0.0",
              *, email: bool = False, issuer: str | None = GHA,
              legacy_issuer: str | None = GHA, repo: str = "octo/widgets",
              workflow: str = "release.yml", ref: str | None = "refs/tags/v1.0.0",
              sha: str | None = "d" * 40, build_ref: str | None = None,
              owner_id: str | None = "1234") -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    name = x509.RFC822Name(san) if email else x509.UniformResourceIdentifier(san)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")]))
               .public_key(KEY.public_key()).serial_number(1)
               .not_valid_before(now).not_valid_after(now + dt.timedelta(minutes=10))
               .add_extension(x509.SubjectAlternativeName([name]), critical=True))

    def ext(n: int, value: bytes) -> None:
        nonlocal builder
        oid = x509.ObjectIdentifier(f"1.3.6.1.4.1.57264.1.{n}")
        builder = builder.add_extension(x509.UnrecognizedExtension(oid, value), critical=False)

    if legacy_issuer:
        ext(1, legacy_issuer.encode())
    if issuer:
        ext(8, _der_utf8(issuer))
    ext(12, _der_utf8(f"https://github.com/{repo}"))
    if owner_id is not None:
        ext(17, _der_utf8(owner_id))
    if sha:
        ext(13, _der_utf8(sha))
    if ref:
        ext(14, _der_utf8(ref))
    suffix = build_ref or ref or sha or ""
    ext(18, _der_utf8(f"https://github.com/{repo}/.github/workflows/{workflow}@{suffix}"))
    ext(20, _der_utf8("push"))
    return builder.sign(KEY, hashes.SHA256())


def test_claims_are_read_with_the_right_encoding():
    claims = certificate_claims(make_cert())
    assert claims.issuer == GHA and claims.legacy_issuer == GHA
    assert claims.repository == "octo/widgets"
    assert claims.ref == "refs/tags/v1.0.0"
    assert claims.trigger == "push"
    assert claims.identity.endswith("release.yml@refs/tags/v1.0.0")
    assert decode_der_utf8string(b"\x0c\x03abc") == "abc"
    assert decode_der_utf8string(b"abc") is None
    assert decode_der_utf8string(b"\x0c\x05abc") is None


def test_github_publisher_accepts_the_right_workflow():
    GitHubPublisher("octo/widgets", "release.yml").verify(make_cert())
    GitHubPublisher("Octo/Widgets", ".github/workflows/release.yml").verify(make_cert())
    GitHubPublisher("octo/widgets", "release.yml", ref_pattern="refs/tags/v*").verify(make_cert())


def test_build_config_may_be_pinned_by_sha():
    GitHubPublisher("octo/widgets", "release.yml").verify(make_cert(build_ref="d" * 40))


@pytest.mark.parametrize(("cert", "reason"), [
    (make_cert(repo="evil/widgets"), "source repository"),
    (make_cert(workflow="other.yml"), "build config"),
    (make_cert(issuer="https://gitlab.com", legacy_issuer=None), "issuer"),
    (make_cert(legacy_issuer="https://evil.example"), "issuer"),
    (make_cert(ref=None, sha=None), "neither"),
    (make_cert(build_ref="refs/heads/evil"), "build config"),
    (make_cert(ref="refs/heads/main"), "ref is"),
])
def test_github_publisher_refusals(cert, reason):
    policy = GitHubPublisher("octo/widgets", "release.yml", ref_pattern="refs/tags/v*")
    with pytest.raises(IdentityMismatch, match=reason) as info:
        policy.verify(cert)
    assert info.value.code == "identity_mismatch"


def test_ref_pattern_is_case_sensitive():
    with pytest.raises(IdentityMismatch):
        GitHubPublisher("octo/widgets", "release.yml",
                        ref_pattern="refs/tags/V*").verify(make_cert())


def test_workflow_name_prefix_does_not_match_a_longer_name():
    """release.yml must not accept release.yml.evil or release.ymlx."""
    with pytest.raises(IdentityMismatch):
        GitHubPublisher("octo/widgets", "release.yml").verify(make_cert(workflow="release.ymlx"))


@pytest.mark.parametrize(("args", "kwargs"), [
    (("", "release.yml"), {}),
    (("octo", "release.yml"), {}),
    (("octo/widgets/extra", "release.yml"), {}),
    (("octo/widgets", ""), {}),
    (("octo/widgets", "../release.yml"), {}),
    (("octo/widgets", "release.yml"), {"environment": " "}),
    (("octo/widgets", "release.yml"), {"ref_pattern": ""}),
])
def test_github_publisher_needs_repository_and_workflow(args, kwargs):
    with pytest.raises(PolicyError) as info:
        GitHubPublisher(*args, **kwargs)
    assert info.value.code == "policy_invalid"


def test_generic_identity_exact_and_regex():
    cert = make_cert("alice@example.com", email=True, issuer=None,
                     legacy_issuer="https://github.com/login/oauth")
    GenericIdentity(san="alice@example.com", issuer="https://github.com/login/oauth").verify(cert)
    GenericIdentity(san_regex=r"[a-z]+@example\.com",
                    issuer="https://github.com/login/oauth").verify(cert)
    with pytest.raises(IdentityMismatch, match="identity"):
        GenericIdentity(san="bob@example.com",
                        issuer="https://github.com/login/oauth").verify(cert)
    with pytest.raises(IdentityMismatch, match="identity"):
        # fullmatch: a prefix is not enough
        GenericIdentity(san_regex="alice", issuer="https://github.com/login/oauth").verify(cert)
    with pytest.raises(IdentityMismatch, match="issuer"):
        GenericIdentity(san="alice@example.com", issuer=GHA).verify(cert)


@pytest.mark.parametrize("kwargs", [
    {"issuer": GHA},
    {"san": "a", "san_regex": "a", "issuer": GHA},
    {"san": "", "issuer": GHA},
    {"san_regex": "", "issuer": GHA},
    {"san": "a@b.c", "issuer": ""},
    {"san_regex": "(", "issuer": GHA},
])
def test_generic_identity_must_pin_identity_and_issuer(kwargs):
    with pytest.raises(PolicyError):
        GenericIdentity(**kwargs)


def test_any_of_and_empty_policies():
    cert = make_cert()
    AnyOf([GitHubPublisher("octo/gadgets", "release.yml"),
           GitHubPublisher("octo/widgets", "release.yml")]).verify(cert)
    with pytest.raises(IdentityMismatch, match="no trusted identity matched"):
        AnyOf([GitHubPublisher("octo/gadgets", "release.yml")]).verify(cert)
    with pytest.raises(PolicyError):
        AnyOf([])
    with pytest.raises(PolicyError):
        require_policy(None)
    with pytest.raises(PolicyError):
        require_policy([])
    with pytest.raises(PolicyError):
        require_policy("octo/widgets")
    assert isinstance(require_policy([GitHubPublisher("octo/widgets", "release.yml")]), AnyOf)


# -- repository_owner_id (issue 9): a re-created repository's bundles and tokens fail ---------
def test_the_owner_id_binding_holds_for_certificates():
    bound = GitHubPublisher("octo/widgets", "release.yml", repository_owner_id="1234")
    bound.verify(make_cert())
    assert certificate_claims(make_cert()).source_repository_owner_identifier == "1234"
    with pytest.raises(IdentityMismatch, match="owner id changed"):
        bound.verify(make_cert(owner_id="999"))
    # A certificate without the owner extension cannot prove the owner: fail closed.
    with pytest.raises(IdentityMismatch, match="owner id changed"):
        bound.verify(make_cert(owner_id=None))
    # Unbound publishers accept any owner (the binding happens on first exchange).
    GitHubPublisher("octo/widgets", "release.yml").verify(make_cert(owner_id="999"))
    with pytest.raises(IdentityMismatch):
        AnyOf([bound]).verify(make_cert(owner_id="999"))


def test_the_owner_id_binding_holds_for_oidc_tokens():
    from signing.oidc import GitHubOidcClaims

    def claims(owner_id: str) -> GitHubOidcClaims:
        now = dt.datetime.now(dt.UTC)
        return GitHubOidcClaims(
            subject="repo:octo/widgets:ref:refs/tags/v1", repository="octo/widgets",
            repository_owner="octo", repository_owner_id=owner_id, repository_id="42",
            workflow_ref="octo/widgets/.github/workflows/release.yml@refs/tags/v1",
            job_workflow_ref="octo/widgets/.github/workflows/release.yml@refs/tags/v1",
            ref="refs/tags/v1", sha="d" * 40, environment=None, event_name="push",
            jti="j", issued_at=now, expires_at=now)

    bound = GitHubPublisher("octo/widgets", "release.yml", repository_owner_id="1234")
    bound.verify_oidc_claims(claims("1234"))
    with pytest.raises(IdentityMismatch, match="owner id changed"):
        bound.verify_oidc_claims(claims("999"))


@pytest.mark.parametrize("owner_id", ["", "abc", "12 34", "1" * 21])
def test_a_malformed_owner_id_is_a_policy_error(owner_id):
    with pytest.raises(PolicyError):
        GitHubPublisher("octo/widgets", "release.yml", repository_owner_id=owner_id)
