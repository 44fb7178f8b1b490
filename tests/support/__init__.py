"""Test-support code shared by the test suite (never imported by the product).

Example::

    from tests.support.sigstore_local import SigstoreInstance, GitHubIdentity
"""
