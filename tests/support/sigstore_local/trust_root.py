"""Write a Sigstore ``trusted_root.json`` (v0.1) for a local instance.

Example::

    doc = trusted_root_document(
        ca_chain=ca.chain, ct_key=ct.public_key, tlog_key=log.public_key,
        valid_from=start, rekor_url="http://127.0.0.1:8080",
    )
    Path("trusted_root.json").write_text(json.dumps(doc))
    verifier = Verifier(trusted_root=TrustedRoot.from_file("trusted_root.json"))

The schema is strict (pydantic ``extra="forbid"``, camelCase); `validFor.start` is required and
must not be in the future, or sigstore-python 4.5.1 ignores the key. sigstore-python computes
key ids itself (``sha256(DER SPKI)``), but the ids written here are the real ones anyway.
`client_trust_config_document` wraps a root for ``ClientTrustConfig.from_json`` and the
``sigstore --trust-config`` CLI (verification only: its signing config names no services).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .ctlog import key_id, spki_der

TRUSTED_ROOT_MEDIA_TYPE = "application/vnd.dev.sigstore.trustedroot+json;version=0.1"
CLIENT_TRUST_CONFIG_MEDIA_TYPE = "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json"
SIGNING_CONFIG_MEDIA_TYPE = "application/vnd.dev.sigstore.signingconfig.v0.2+json"


def rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _validity(start: datetime, end: datetime | None) -> dict[str, str]:
    out = {"start": rfc3339(start)}
    if end is not None:
        out["end"] = rfc3339(end)
    return out


def log_instance(
    key: ec.EllipticCurvePublicKey, base_url: str, start: datetime, end: datetime | None = None
) -> dict[str, Any]:
    """One ``tlogs``/``ctlogs`` element for an ECDSA P-256 key."""
    return {
        "baseUrl": base_url,
        "hashAlgorithm": "SHA2_256",
        "publicKey": {
            "rawBytes": _b64(spki_der(key)),
            "keyDetails": "PKIX_ECDSA_P256_SHA_256",
            "validFor": _validity(start, end),
        },
        "logId": {"keyId": _b64(key_id(key))},
    }


def certificate_authority(
    chain: Sequence[x509.Certificate], uri: str, start: datetime, end: datetime | None = None
) -> dict[str, Any]:
    """One ``certificateAuthorities`` element; `chain` is issuer first, root last."""
    root = chain[-1]
    org = root.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
    cn = root.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return {
        "subject": {
            "organization": str(org[0].value) if org else "",
            "commonName": str(cn[0].value) if cn else "",
        },
        "uri": uri,
        "certChain": {
            "certificates": [
                {"rawBytes": _b64(c.public_bytes(serialization.Encoding.DER))} for c in chain
            ]
        },
        "validFor": _validity(start, end),
    }


def trusted_root_document(
    *,
    ca_chain: Sequence[x509.Certificate],
    ct_key: ec.EllipticCurvePublicKey,
    tlog_key: ec.EllipticCurvePublicKey,
    valid_from: datetime,
    rekor_url: str,
    fulcio_url: str = "http://fulcio.sigstore.local",
    ctlog_url: str = "http://ctfe.sigstore.local",
) -> dict[str, Any]:
    """The trusted root JSON document (as a dict) for one CA, one CT log and one Rekor."""
    return {
        "mediaType": TRUSTED_ROOT_MEDIA_TYPE,
        "tlogs": [log_instance(tlog_key, rekor_url, valid_from)],
        "certificateAuthorities": [certificate_authority(ca_chain, fulcio_url, valid_from)],
        "ctlogs": [log_instance(ct_key, ctlog_url, valid_from)],
        "timestampAuthorities": [],
    }


def client_trust_config_document(trusted_root: dict[str, Any]) -> dict[str, Any]:
    """A ``ClientTrustConfig`` for verification (the signing config lists no services)."""
    return {
        "mediaType": CLIENT_TRUST_CONFIG_MEDIA_TYPE,
        "trustedRoot": trusted_root,
        "signingConfig": {"mediaType": SIGNING_CONFIG_MEDIA_TYPE},
    }
