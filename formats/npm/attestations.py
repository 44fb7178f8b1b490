"""npm's attestations document (``GET /-/npm/v1/attestations/{name}@{version}``) and the
``dist.attestations`` pointer a packument carries to it.

    attestations_document([bundle_json])   # {"attestations": [{"predicateType", "bundle"}]}
    pointer(url, bundle_json)              # {"url": ..., "provenance": {"predicateType": ...}}

A bundle is the Sigstore bundle verified at publish (npm's ``.sigstore`` attachment): a DSSE
envelope whose in-toto statement names the predicate type (SLSA provenance v1 for
``npm publish --provenance``). ``npm audit signatures`` fetches the document from the address in
``dist.attestations.url`` and verifies each bundle itself. A bundle without a readable
statement is not listed (``predicate_type`` is ``None``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any


def predicate_type(bundle_json: str) -> str | None:
    """The in-toto predicate type of a DSSE bundle, or ``None``."""
    try:
        bundle = json.loads(bundle_json)
        payload = base64.b64decode(bundle["dsseEnvelope"]["payload"], validate=True)
        value = json.loads(payload).get("predicateType")
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
        return None
    return value if isinstance(value, str) else None


def attestations_document(bundles: Sequence[str]) -> dict[str, Any]:
    entries = []
    for raw in bundles:
        kind = predicate_type(raw)
        if kind is not None:
            entries.append({"predicateType": kind, "bundle": json.loads(raw)})
    return {"attestations": entries}


def pointer(url: str, bundle_json: str) -> dict[str, Any] | None:
    kind = predicate_type(bundle_json)
    return {"url": url, "provenance": {"predicateType": kind}} if kind else None
