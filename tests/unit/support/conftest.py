"""Make the private Sigstore instance's fixtures available to these tests."""

from tests.support.sigstore_local.fixtures import (  # noqa: F401
    fresh_sigstore_instance,
    github_identity,
    github_jwks_path,
    github_oidc_key,
    sigstore_instance,
    sigstore_trusted_root_path,
)
