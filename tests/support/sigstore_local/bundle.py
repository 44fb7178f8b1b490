"""Assemble Sigstore bundle JSON (v0.1, v0.2, v0.3) from its parts.

Example::

    doc = bundle_document("0.3", leaf, chain=[intermediate], tlog_entry=entry_json,
                          message_signature={"messageDigest": ..., "signature": ...})
    Bundle.from_json(json.dumps(doc))       # sigstore-python parses it

v0.1 and v0.2 carry ``x509CertificateChain`` (leaf first, then intermediates; never the root,
as protobuf-specs' client policy asks); v0.3 carries the leaf alone in ``certificate`` and uses
the ``application/vnd.dev.sigstore.bundle.v0.3+json`` media type.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

MEDIA_TYPES = {
    "0.1": "application/vnd.dev.sigstore.bundle+json;version=0.1",
    "0.2": "application/vnd.dev.sigstore.bundle+json;version=0.2",
    "0.3": "application/vnd.dev.sigstore.bundle.v0.3+json",
}


def _der_b64(cert: x509.Certificate) -> str:
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode("ascii")


def bundle_document(
    version: str,
    leaf: x509.Certificate,
    *,
    chain: Sequence[x509.Certificate],
    tlog_entry: dict[str, Any],
    message_signature: dict[str, Any] | None = None,
    dsse_envelope: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A bundle dict; exactly one of `message_signature` / `dsse_envelope` must be given.

    Raises `ValueError` for an unknown `version` or a wrong content combination.
    """
    if version not in MEDIA_TYPES:
        raise ValueError(f"unknown bundle version {version!r}; expected one of {list(MEDIA_TYPES)}")
    if (message_signature is None) == (dsse_envelope is None):
        raise ValueError("give exactly one of message_signature and dsse_envelope")
    material: dict[str, Any]
    if version == "0.3":
        material = {"certificate": {"rawBytes": _der_b64(leaf)}}
    else:
        material = {
            "x509CertificateChain": {
                "certificates": [{"rawBytes": _der_b64(c)} for c in (leaf, *chain)]
            }
        }
    material["tlogEntries"] = [tlog_entry]
    doc: dict[str, Any] = {"mediaType": MEDIA_TYPES[version], "verificationMaterial": material}
    if message_signature is not None:
        doc["messageSignature"] = message_signature
    else:
        doc["dsseEnvelope"] = dsse_envelope
    return doc
