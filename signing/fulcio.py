"""Read the identity claims a Fulcio certificate carries.

    >>> from signing.fulcio import certificate_claims
    >>> claims = certificate_claims(bundle.signing_certificate)      # doctest: +SKIP
    >>> claims.issuer, claims.source_repository_uri                  # doctest: +SKIP
    ('https://token.actions.githubusercontent.com', 'https://github.com/owner/repo')

Fulcio extension encodings (https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md):
1.3.6.1.4.1.57264.1.1-.6 are raw UTF-8 bytes (deprecated), .8-.22 are DER UTF8String. Mixing
them up silently reads garbage, so each OID is decoded by its own rule. An extension that is
absent or undecodable reads as None; policies then fail closed on it.

These claims are only trustworthy once the certificate chain has been verified; this module
does no verification.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509

from signing.issuers import GITHUB_ACTIONS_ISSUER as GITHUB_ACTIONS_ISSUER  # re-exported

_FULCIO = "1.3.6.1.4.1.57264.1."
OTHERNAME_SAN_OID = x509.ObjectIdentifier(_FULCIO + "7")


def _oid(n: int) -> x509.ObjectIdentifier:
    return x509.ObjectIdentifier(f"{_FULCIO}{n}")


def decode_der_utf8string(der: bytes) -> str | None:
    """Decode a DER UTF8String (tag 0x0c). Returns None if `der` is anything else."""
    if len(der) < 2 or der[0] != 0x0C:
        return None
    length = der[1]
    offset = 2
    if length & 0x80:
        n = length & 0x7F
        if n == 0 or n > 4 or len(der) < 2 + n:
            return None
        length = int.from_bytes(der[2 : 2 + n], "big")
        offset = 2 + n
    if len(der) != offset + length:
        return None
    try:
        return der[offset:].decode("utf-8")
    except UnicodeDecodeError:
        return None


def _raw_ext(cert: x509.Certificate, n: int) -> bytes | None:
    try:
        ext = cert.extensions.get_extension_for_oid(_oid(n))
    except (x509.ExtensionNotFound, ValueError):
        return None
    value = ext.value
    if isinstance(value, x509.UnrecognizedExtension):
        return value.value
    return None


def _legacy(cert: x509.Certificate, n: int) -> str | None:
    raw = _raw_ext(cert, n)
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _v2(cert: x509.Certificate, n: int) -> str | None:
    raw = _raw_ext(cert, n)
    return None if raw is None else decode_der_utf8string(raw)


def subject_alt_names(cert: x509.Certificate) -> list[str]:
    """Every SAN value: URIs, emails, and Fulcio's otherName username (1.3.6.1.4.1.57264.1.7)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return []
    names: list[str] = []
    names.extend(san.get_values_for_type(x509.UniformResourceIdentifier))
    names.extend(san.get_values_for_type(x509.RFC822Name))
    for other in san.get_values_for_type(x509.OtherName):
        if other.type_id == OTHERNAME_SAN_OID:
            decoded = decode_der_utf8string(other.value)
            if decoded is not None:
                names.append(decoded)
    return names


@dataclass(frozen=True)
class CertificateClaims:
    """What a Fulcio leaf certificate says about who signed. Unverified by itself."""

    sans: tuple[str, ...]
    issuer: str | None  # 1.8 (V2), falling back to legacy 1.1
    legacy_issuer: str | None  # 1.1
    issuer_v2: str | None  # 1.8
    build_signer_uri: str | None  # 1.9 (job_workflow_ref as a URL)
    build_signer_digest: str | None  # 1.10
    runner_environment: str | None  # 1.11
    source_repository_uri: str | None  # 1.12
    source_repository_digest: str | None  # 1.13 (commit sha)
    source_repository_ref: str | None  # 1.14
    source_repository_identifier: str | None  # 1.15
    source_repository_owner_uri: str | None  # 1.16
    source_repository_owner_identifier: str | None  # 1.17
    build_config_uri: str | None  # 1.18 (workflow_ref as a URL)
    build_config_digest: str | None  # 1.19
    build_trigger: str | None  # 1.20 (event_name)
    run_invocation_uri: str | None  # 1.21
    legacy_trigger: str | None  # 1.2
    legacy_sha: str | None  # 1.3
    legacy_workflow_name: str | None  # 1.4
    legacy_repository: str | None  # 1.5
    legacy_ref: str | None  # 1.6

    @property
    def identity(self) -> str | None:
        """The first SAN: the identity Fulcio certified (Fulcio issues exactly one)."""
        return self.sans[0] if self.sans else None

    @property
    def ref(self) -> str | None:
        return self.source_repository_ref or self.legacy_ref

    @property
    def sha(self) -> str | None:
        return self.source_repository_digest or self.legacy_sha

    @property
    def trigger(self) -> str | None:
        return self.build_trigger or self.legacy_trigger

    @property
    def repository(self) -> str | None:
        """`owner/repo` for GitHub certificates (from 1.12, else legacy 1.5)."""
        uri = self.source_repository_uri
        if uri and uri.startswith("https://github.com/"):
            return uri.removeprefix("https://github.com/")
        return self.legacy_repository

    def issuer_matches(self, expected: str) -> bool:
        """True iff every issuer extension present equals `expected` and at least one is."""
        present = [v for v in (self.issuer_v2, self.legacy_issuer) if v is not None]
        return bool(present) and all(v == expected for v in present)


def certificate_claims(cert: x509.Certificate) -> CertificateClaims:
    """Extract the Fulcio claims of `cert` (absent or undecodable claims are None)."""
    legacy_issuer = _legacy(cert, 1)
    issuer_v2 = _v2(cert, 8)
    return CertificateClaims(
        sans=tuple(subject_alt_names(cert)),
        issuer=issuer_v2 or legacy_issuer,
        legacy_issuer=legacy_issuer,
        issuer_v2=issuer_v2,
        build_signer_uri=_v2(cert, 9),
        build_signer_digest=_v2(cert, 10),
        runner_environment=_v2(cert, 11),
        source_repository_uri=_v2(cert, 12),
        source_repository_digest=_v2(cert, 13),
        source_repository_ref=_v2(cert, 14),
        source_repository_identifier=_v2(cert, 15),
        source_repository_owner_uri=_v2(cert, 16),
        source_repository_owner_identifier=_v2(cert, 17),
        build_config_uri=_v2(cert, 18),
        build_config_digest=_v2(cert, 19),
        build_trigger=_v2(cert, 20),
        run_invocation_uri=_v2(cert, 21),
        legacy_trigger=_legacy(cert, 2),
        legacy_sha=_legacy(cert, 3),
        legacy_workflow_name=_legacy(cert, 4),
        legacy_repository=_legacy(cert, 5),
        legacy_ref=_legacy(cert, 6),
    )
