"""Parse untrusted Sigstore bundles (v0.1-v0.3) and PEP 740 attestation objects.

    >>> from signing.bundle import parse_bundle
    >>> parsed = parse_bundle(open("a.txt.sigstore.json", "rb").read())   # doctest: +SKIP
    >>> parsed.kind, parsed.log_index                                      # doctest: +SKIP
    ('hashedrekord', 25915956)

Nothing here is verified: `ParsedBundle` only gives typed access to what the bundle claims
(`unverified_*`). Raises `MalformedSignature` for anything that is not a well-formed bundle,
and `UnsupportedSignature` for well-formed bundles sigstore-python 4.5.1 cannot verify
(intoto/0.0.2 entries, key-based bundles without a certificate).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sigstore.models import Bundle, IncompatibleEntry, InvalidBundle

from signing.errors import MalformedSignature, UnsupportedSignature

MAX_BUNDLE_BYTES = 1 << 20  # a real bundle is a few KB; refuse to parse megabytes of JSON
DSSE_PAYLOAD_TYPE = "application/vnd.in-toto+json"
_SUPPORTED_KINDS = {("hashedrekord", "0.0.1"), ("hashedrekord", "0.0.2"), ("dsse", "0.0.1")}


@dataclass(frozen=True)
class ParsedBundle:
    """A bundle that parsed, plus the raw log-entry fields we report after verification."""

    bundle: Bundle
    document: dict[str, Any]
    kind: str
    kind_version: str
    is_dsse: bool
    log_index: int
    log_id: bytes
    integrated_time: datetime | None
    unverified_body: dict[str, Any]


def _b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise MalformedSignature(f"{what} is missing or not a string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as err:
        raise MalformedSignature(f"{what} is not valid base64") from err


def _attestation_to_bundle(doc: dict[str, Any]) -> dict[str, Any]:
    """PEP 740 attestation object -> v0.3 bundle document (PEP 740 section "Attestation")."""
    material = doc.get("verification_material")
    envelope = doc.get("envelope")
    if not isinstance(material, dict) or not isinstance(envelope, dict):
        raise MalformedSignature("attestation lacks verification_material or envelope")
    entries = material.get("transparency_entries")
    if not isinstance(entries, list) or not entries or not isinstance(entries[0], dict):
        raise MalformedSignature("attestation has no transparency entry")
    # Decode once so a bad value fails here with a precise message.
    _b64(material.get("certificate"), "attestation certificate")
    _b64(envelope.get("statement"), "attestation statement")
    _b64(envelope.get("signature"), "attestation signature")
    return {
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {
            "certificate": {"rawBytes": material["certificate"]},
            "tlogEntries": [entries[0]],
        },
        "dsseEnvelope": {
            "payload": envelope["statement"],
            "payloadType": DSSE_PAYLOAD_TYPE,
            "signatures": [{"sig": envelope["signature"]}],
        },
    }


def _load_json(raw: bytes | str) -> dict[str, Any]:
    if len(raw) > MAX_BUNDLE_BYTES:
        raise MalformedSignature(f"bundle is larger than {MAX_BUNDLE_BYTES} bytes")
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise MalformedSignature(f"bundle is not JSON: {err}") from err
    if not isinstance(doc, dict):
        raise MalformedSignature("bundle is not a JSON object")
    if "mediaType" not in doc and doc.get("version") == 1 and "envelope" in doc:
        return _attestation_to_bundle(doc)
    result: dict[str, Any] = doc
    return result


def _entry_fields(doc: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    material = doc.get("verificationMaterial")
    entries = material.get("tlogEntries") if isinstance(material, dict) else None
    if not isinstance(entries, list) or len(entries) != 1 or not isinstance(entries[0], dict):
        raise MalformedSignature("bundle must carry exactly one transparency log entry")
    entry = entries[0]
    body_raw = _b64(entry.get("canonicalizedBody"), "log entry body")
    try:
        body = json.loads(body_raw)
    except ValueError as err:
        raise MalformedSignature("log entry body is not JSON") from err
    if not isinstance(body, dict):
        raise MalformedSignature("log entry body is not a JSON object")
    return entry, body


def parse_bundle(raw: bytes | str) -> ParsedBundle:
    """Parse a bundle (JSON bytes or text) or a PEP 740 attestation. See module docstring."""
    doc = _load_json(raw)
    entry, body = _entry_fields(doc)
    kv = entry.get("kindVersion") or {}
    kind, version = str(kv.get("kind", "")), str(kv.get("version", ""))
    if (kind, version) not in _SUPPORTED_KINDS:
        raise UnsupportedSignature(f"log entry kind {kind}/{version} is not supported "
                                   "(supported: hashedrekord 0.0.1/0.0.2, dsse 0.0.1)")
    material = doc["verificationMaterial"]
    if "publicKey" in material:
        raise UnsupportedSignature("key-based bundles (no Fulcio certificate) are not supported")
    try:
        bundle = Bundle.from_json(json.dumps(doc))
    except IncompatibleEntry as err:
        raise UnsupportedSignature(f"unsupported bundle: {err}") from err
    except InvalidBundle as err:
        raise MalformedSignature(f"invalid bundle: {err}") from err
    except Exception as err:  # pydantic / cryptography errors on odd input
        raise MalformedSignature(f"invalid bundle: {err}") from err

    try:
        log_index = int(entry["logIndex"])
        log_id = _b64((entry.get("logId") or {}).get("keyId"), "log id")
        raw_time = entry.get("integratedTime")
        integrated = int(raw_time) if raw_time not in (None, "", "0", 0) else None
    except (KeyError, TypeError, ValueError) as err:
        raise MalformedSignature(f"log entry fields are malformed: {err}") from err
    if log_index < 0:
        raise MalformedSignature("log index is negative")
    return ParsedBundle(
        bundle=bundle,
        document=doc,
        kind=kind,
        kind_version=version,
        is_dsse="dsseEnvelope" in doc,
        log_index=log_index,
        log_id=log_id,
        integrated_time=(datetime.fromtimestamp(integrated, tz=UTC)
                         if integrated is not None else None),
        unverified_body=body,
    )


def attestations_from_provenance(raw: bytes | str) -> list[str]:
    """The attestation objects of a PEP 740 provenance object, as JSON texts.

    Raises `MalformedSignature` if `raw` is not a provenance object with attestations."""
    if len(raw) > MAX_BUNDLE_BYTES:
        raise MalformedSignature(f"provenance is larger than {MAX_BUNDLE_BYTES} bytes")
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise MalformedSignature(f"provenance is not JSON: {err}") from err
    bundles = doc.get("attestation_bundles") if isinstance(doc, dict) else None
    if not isinstance(bundles, list):
        raise MalformedSignature("not a PEP 740 provenance object")
    found = [json.dumps(att) for b in bundles if isinstance(b, dict)
             for att in (b.get("attestations") or []) if isinstance(att, dict)]
    if not found:
        raise MalformedSignature("provenance object holds no attestations")
    return found
