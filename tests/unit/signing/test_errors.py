"""The error tree: one root, stable distinct codes."""

from __future__ import annotations

import inspect

import signing
from signing import errors


def test_every_error_has_a_distinct_snake_case_code():
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass)
               if issubclass(c, errors.VerificationError)]
    codes = [c.code for c in classes]
    assert len(codes) == len(set(codes))
    assert all(code.replace("_", "").isalpha() and code.islower() for code in codes)


def test_codes_the_http_layer_relies_on():
    assert {
        "signature_invalid": errors.SignatureInvalid,
        "identity_mismatch": errors.IdentityMismatch,
        "artifact_mismatch": errors.DigestMismatch,
        "signature_malformed": errors.MalformedSignature,
        "certificate_invalid": errors.CertificateInvalid,
        "tlog_invalid": errors.TransparencyLogError,
        "key_unknown": errors.KeyUnknown,
        "key_revoked": errors.KeyRevoked,
        "key_expired": errors.KeyExpired,
        "policy_invalid": errors.PolicyError,
        "rekor_unavailable": errors.RekorUnavailable,
        "invalid_token": errors.OidcTokenInvalid,
    } == {cls.code: cls for cls in (
        errors.SignatureInvalid, errors.IdentityMismatch, errors.DigestMismatch,
        errors.MalformedSignature, errors.CertificateInvalid, errors.TransparencyLogError,
        errors.KeyUnknown, errors.KeyRevoked, errors.KeyExpired, errors.PolicyError,
        errors.RekorUnavailable, errors.OidcTokenInvalid)}


def test_package_exports():
    assert signing.VerificationError is errors.VerificationError
    assert set(signing.__all__) <= set(dir(signing))
    err = errors.KeyRevoked("revoked", fingerprint="AB")
    assert err.detail == "revoked" and err.fingerprint == "AB"
