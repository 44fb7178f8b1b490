"""A Fulcio-like certificate authority: a root, an optional intermediate, 10-minute leaves.

Example::

    ca = FulcioCA.generate(now)                     # root + intermediate, ECDSA P-256
    ct = CTLog.generate()
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = ca.issue(key.public_key(), identity, not_before=now, ct_log=ct)

Leaves follow Fulcio's profile as far as sigstore-python 4.5.1 and `cryptography`'s webpki
verifier look at it: empty subject with a critical URI SAN, KeyUsage digitalSignature,
EKU codeSigning, AKI/SKI, the GitHub Actions extensions (`identity.fulcio_extensions`), and one
embedded precertificate SCT. The SCT is made by the precertificate flow: the TBS without the
SCT extension is signed by the CT log, then the certificate is re-issued with the same
serial, validity and extensions plus the SCT list (so `tbs_precertificate_bytes` matches).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .ctlog import SCT_LIST_OID, CTLog
from .identity import GitHubIdentity, fulcio_extensions

LEAF_VALIDITY = timedelta(minutes=10)
CA_BACKDATE = timedelta(days=365)
CA_LIFETIME = timedelta(days=3650)


def _name(common_name: str, organization: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
        encipher_only=False, decipher_only=False,
    )


def _leaf_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
        encipher_only=False, decipher_only=False,
    )


def _ca_cert(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    issuer_key: ec.EllipticCurvePrivateKey,
    not_before: datetime,
    path_length: int,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_before + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    return builder.sign(issuer_key, hashes.SHA256())


@dataclass(frozen=True)
class FulcioCA:
    """A root (and usually an intermediate) that issues Fulcio-shaped leaf certificates."""

    root_key: ec.EllipticCurvePrivateKey
    root: x509.Certificate
    issuer_key: ec.EllipticCurvePrivateKey
    issuer: x509.Certificate  # the intermediate, or the root itself when there is none

    @classmethod
    def generate(
        cls, now: datetime, *, intermediate: bool = True, name: str = "sigstore-local"
    ) -> FulcioCA:
        """A fresh CA valid from `now` - 365 days for ten years (so back-dated signing works)."""
        start = now - CA_BACKDATE
        root_key = ec.generate_private_key(ec.SECP256R1())
        root_name = _name(name, "sigstore.local")
        root = _ca_cert(root_name, root_key, root_name, root_key, start, path_length=1)
        if not intermediate:
            return cls(root_key, root, root_key, root)
        inter_key = ec.generate_private_key(ec.SECP256R1())
        inter = _ca_cert(_name(f"{name}-intermediate", "sigstore.local"), inter_key,
                         root_name, root_key, start, path_length=0)
        return cls(root_key, root, inter_key, inter)

    @property
    def chain(self) -> list[x509.Certificate]:
        """Issuer first, root last (the trusted root's `certChain` order)."""
        return [self.root] if self.issuer is self.root else [self.issuer, self.root]

    def issue(
        self,
        public_key: ec.EllipticCurvePublicKey,
        identity: GitHubIdentity,
        *,
        not_before: datetime,
        ct_log: CTLog | None,
        validity: timedelta = LEAF_VALIDITY,
    ) -> x509.Certificate:
        """Issue a leaf for `identity`; with `ct_log=None` the leaf carries no SCT."""
        not_before = not_before.replace(microsecond=0)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(self.issuer.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_before + validity)
            .add_extension(_leaf_key_usage(), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]),
                           critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key),
                           critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.issuer_key.public_key()),
                critical=False,
            )
            # An empty subject requires a critical SAN (RFC 5280 4.2.1.6; webpki enforces it).
            .add_extension(
                x509.SubjectAlternativeName([x509.UniformResourceIdentifier(identity.san)]),
                critical=True,
            )
        )
        for oid, value in fulcio_extensions(identity).items():
            builder = builder.add_extension(
                x509.UnrecognizedExtension(x509.ObjectIdentifier(oid), value), critical=False
            )
        precert = builder.sign(self.issuer_key, hashes.SHA256())
        if ct_log is None:
            return precert
        sct_list = ct_log.embedded_sct_list(
            precert.tbs_certificate_bytes, self.issuer_key.public_key(), not_before
        )
        final = builder.add_extension(
            x509.UnrecognizedExtension(x509.ObjectIdentifier(SCT_LIST_OID), sct_list),
            critical=False,
        ).sign(self.issuer_key, hashes.SHA256())
        # Security invariant of the precert flow: the SCT signed exactly this TBS.
        assert final.tbs_precertificate_bytes == precert.tbs_certificate_bytes
        return final
