"""Rekor v1 entry types: turn a proposed entry into the canonical body Rekor stores.

Example::

    proposed = hashedrekord_proposal(digest, signature, leaf_cert)
    prepared = prepare_entry(proposed)      # checks the signature, like Rekor does
    prepared.body                            # RFC 8785 JSON bytes (the Merkle leaf)
    prepared.index_keys                      # ["sha256:<artifact digest>", ...]

Supported: ``hashedrekord`` 0.0.1 (stored as proposed, canonicalised) and ``dsse`` 0.0.1
(stored as Rekor stores it: ``envelopeHash``, ``payloadHash`` and ``signatures`` with the
verifier, not the envelope). Index keys are what Rekor's search index (``/api/v1/index/retrieve``)
finds an entry by: the artifact digest for hashedrekord; the payload and envelope digests, and
every in-toto subject's sha256, for DSSE. Anything else raises `EntryRejected`.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any, ClassVar

import rfc8785
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"


class EntryRejected(Exception):
    """A proposed entry Rekor would refuse (HTTP 400): malformed, unsupported or bad signature."""

    code: ClassVar[str] = "entry_rejected"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PreparedEntry:
    """What the log appends: the canonical body and the keys the search index files it under."""

    kind: str
    api_version: str
    body: bytes
    index_keys: tuple[str, ...]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def pem_b64(cert: x509.Certificate) -> str:
    """base64(PEM certificate): how Rekor v1 bodies carry a certificate."""
    return b64(cert.public_bytes(serialization.Encoding.PEM))


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding."""
    return b"DSSEv1 %d %s %d %s" % (
        len(payload_type), payload_type.encode(), len(payload), payload,
    )


def hashedrekord_proposal(
    digest: bytes, signature: bytes, cert: x509.Certificate
) -> dict[str, Any]:
    """The proposed hashedrekord 0.0.1 entry for a signature over a sha256 `digest`."""
    return {
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": digest.hex()}},
            "signature": {"content": b64(signature), "publicKey": {"content": pem_b64(cert)}},
        },
    }


def dsse_proposal(envelope_json: str, cert: x509.Certificate) -> dict[str, Any]:
    """The proposed dsse 0.0.1 entry (what sigstore-python submits)."""
    return {
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {"proposedContent": {"envelope": envelope_json, "verifiers": [pem_b64(cert)]}},
    }


def _load_cert(b64_pem: Any) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(base64.b64decode(b64_pem, validate=True))
    except (ValueError, TypeError) as err:
        raise EntryRejected(f"invalid certificate: {err}") from err


def _ec_key(cert: x509.Certificate) -> ec.EllipticCurvePublicKey:
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise EntryRejected("only ECDSA keys are supported")
    return key


def _prepare_hashedrekord(proposed: dict[str, Any]) -> PreparedEntry:
    try:
        spec = proposed["spec"]
        algorithm = spec["data"]["hash"]["algorithm"]
        digest = bytes.fromhex(spec["data"]["hash"]["value"])
        signature = base64.b64decode(spec["signature"]["content"], validate=True)
        cert = _load_cert(spec["signature"]["publicKey"]["content"])
    except (KeyError, TypeError, ValueError) as err:
        raise EntryRejected(f"malformed hashedrekord entry: {err}") from err
    if algorithm != "sha256" or len(digest) != 32:
        raise EntryRejected("hashedrekord: only sha256 digests are supported")
    try:
        _ec_key(cert).verify(signature, digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    except InvalidSignature as err:
        raise EntryRejected("hashedrekord: signature does not verify") from err
    body: dict[str, Any] = {
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": digest.hex()}},
            "signature": {"content": b64(signature), "publicKey": {"content": pem_b64(cert)}},
        },
    }
    return PreparedEntry("hashedrekord", "0.0.1", rfc8785.dumps(body), (f"sha256:{digest.hex()}",))


def _subject_digests(payload_type: str, payload: bytes) -> list[str]:
    if payload_type != INTOTO_PAYLOAD_TYPE:
        return []
    try:
        statement = json.loads(payload)
        return [
            f"sha256:{s['digest']['sha256'].lower()}"
            for s in statement.get("subject", [])
            if isinstance(s, dict) and "sha256" in s.get("digest", {})
        ]
    except (ValueError, AttributeError, TypeError):
        return []


def _prepare_dsse(proposed: dict[str, Any]) -> PreparedEntry:
    try:
        content = proposed["spec"]["proposedContent"]
        envelope_text: str = content["envelope"]
        envelope = json.loads(envelope_text)
        payload_type: str = envelope["payloadType"]
        payload = base64.b64decode(envelope["payload"], validate=True)
        sigs = [base64.b64decode(s["sig"], validate=True) for s in envelope["signatures"]]
        verifiers = [_load_cert(v) for v in content["verifiers"]]
    except (KeyError, TypeError, ValueError) as err:
        raise EntryRejected(f"malformed dsse entry: {err}") from err
    if not sigs or not verifiers:
        raise EntryRejected("dsse: an envelope needs signatures and verifiers")
    message = pae(payload_type, payload)
    signatures = []
    for sig in sigs:
        for cert in verifiers:
            try:
                _ec_key(cert).verify(sig, message, ec.ECDSA(hashes.SHA256()))
            except InvalidSignature:
                continue
            signatures.append({"signature": b64(sig), "verifier": pem_b64(cert)})
            break
        else:
            raise EntryRejected("dsse: a signature does not verify with any verifier")
    envelope_hash = hashlib.sha256(envelope_text.encode()).hexdigest()
    payload_hash = hashlib.sha256(payload).hexdigest()
    body: dict[str, Any] = {
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "envelopeHash": {"algorithm": "sha256", "value": envelope_hash},
            "payloadHash": {"algorithm": "sha256", "value": payload_hash},
            "signatures": signatures,
        },
    }
    keys = [f"sha256:{payload_hash}", f"sha256:{envelope_hash}",
            *_subject_digests(payload_type, payload)]
    return PreparedEntry("dsse", "0.0.1", rfc8785.dumps(body), tuple(dict.fromkeys(keys)))


def prepare_entry(proposed: Any) -> PreparedEntry:
    """Validate a proposed entry and compute its stored body; raises `EntryRejected`."""
    if not isinstance(proposed, dict):
        raise EntryRejected("a proposed entry must be a JSON object")
    kind, version = proposed.get("kind"), proposed.get("apiVersion")
    if version != "0.0.1":
        raise EntryRejected(f"unsupported apiVersion {version!r}")
    if kind == "hashedrekord":
        return _prepare_hashedrekord(proposed)
    if kind == "dsse":
        return _prepare_dsse(proposed)
    raise EntryRejected(f"unsupported entry kind {kind!r}")
