"""A test Certificate Transparency log that signs RFC 6962 precertificate SCTs.

Example::

    ct = CTLog.generate()
    sct_ext_value = ct.embedded_sct_list(tbs_precert, issuer_public_key, when)
    # -> bytes for an UnrecognizedExtension(1.3.6.1.4.1.11129.2.4.2)

No log is kept: like the SCT a real CT log returns, the SCT is only a signed promise.
`cryptography` can parse SCTs but not build them, so the TLS structures are packed here
(RFC 6962 section 3.2 and 3.3).
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from ._der import octet_string

SCT_LIST_OID = "1.3.6.1.4.1.11129.2.4.2"

_SCT_V1 = 0
_SIGNATURE_TYPE_CERTIFICATE_TIMESTAMP = 0
_ENTRY_TYPE_PRECERT = 1
_HASH_SHA256 = 4
_SIG_ECDSA = 3


def spki_der(key: ec.EllipticCurvePublicKey) -> bytes:
    """DER SubjectPublicKeyInfo of a public key."""
    return key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_id(key: ec.EllipticCurvePublicKey) -> bytes:
    """SHA-256 of the DER SPKI: the CT log id, the Rekor log id, the SCT issuer key hash."""
    return hashlib.sha256(spki_der(key)).digest()


def _u24(n: int) -> bytes:
    return n.to_bytes(3, "big")


@dataclass(frozen=True)
class CTLog:
    """One CT log signing key (ECDSA P-256)."""

    private_key: ec.EllipticCurvePrivateKey

    @classmethod
    def generate(cls) -> CTLog:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.private_key.public_key()

    @property
    def log_id(self) -> bytes:
        return key_id(self.public_key)

    def sign_precert(
        self, tbs_precert: bytes, issuer_key: ec.EllipticCurvePublicKey, when: datetime
    ) -> bytes:
        """One serialized SCT (RFC 6962 3.2) over a precertificate's TBSCertificate.

        `tbs_precert` must be the TBS *without* the SCT list extension, and `issuer_key` the
        key of the certificate's direct issuer (its hash binds the SCT to that issuer).
        """
        millis = int(when.timestamp() * 1000)
        signed = (
            struct.pack("!BBQH", _SCT_V1, _SIGNATURE_TYPE_CERTIFICATE_TIMESTAMP, millis,
                        _ENTRY_TYPE_PRECERT)
            + key_id(issuer_key)
            + _u24(len(tbs_precert))
            + tbs_precert
            + struct.pack("!H", 0)  # no CtExtensions
        )
        signature = self.private_key.sign(signed, ec.ECDSA(hashes.SHA256()))
        return (
            struct.pack("!B", _SCT_V1)
            + self.log_id
            + struct.pack("!QH", millis, 0)
            + struct.pack("!BBH", _HASH_SHA256, _SIG_ECDSA, len(signature))
            + signature
        )

    def embedded_sct_list(
        self, tbs_precert: bytes, issuer_key: ec.EllipticCurvePublicKey, when: datetime
    ) -> bytes:
        """The DER value of the embedded-SCT-list extension holding one SCT from this log."""
        return encode_sct_list([self.sign_precert(tbs_precert, issuer_key, when)])


def encode_sct_list(scts: list[bytes]) -> bytes:
    """``SignedCertificateTimestampList`` wrapped in the DER OCTET STRING the extension holds."""
    body = b"".join(struct.pack("!H", len(s)) + s for s in scts)
    return octet_string(struct.pack("!H", len(body)) + body)
