"""PEP 740 attestations signed by the local Sigstore test instance, as `twine upload
--attestations` and `uv publish` send them.

    att = make_attestation(sigstore_instance, data, "widget-1.0-py3-none-any.whl", identity)
    form = {"attestations": json.dumps([att])}

The DSSE bundle comes from `SigstoreInstance.sign` (a real certificate, log entry and
inclusion proof of the local instance); `pypi_attestations.Attestation.from_bundle` turns it
into the attestation object, exactly as the publishing tools do with Sigstore's bundle.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pypi_attestations import Attestation
from sigstore.models import Bundle

from formats.pypi.attestations import PUBLISH_V1
from tests.support.sigstore_local import Fault, GitHubIdentity, SigstoreInstance


def statement(filename: str, data: bytes, predicate_type: str = PUBLISH_V1,
              predicate: dict[str, Any] | None = None) -> dict[str, Any]:
    """An in-toto Statement v1 about one distribution file."""
    return {"_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": filename,
                         "digest": {"sha256": hashlib.sha256(data).hexdigest()}}],
            "predicateType": predicate_type, "predicate": predicate}


def make_attestation(instance: SigstoreInstance, data: bytes, filename: str,
                     identity: GitHubIdentity, *, predicate_type: str = PUBLISH_V1,
                     statement_override: dict[str, Any] | None = None,
                     fault: Fault | None = None) -> dict[str, Any]:
    """A signed attestation object (JSON-ready dict) for `data` named `filename`; `fault`
    makes the instance's bad cases (e.g. `Fault.UNLOGGED_ENTRY`)."""
    body = statement_override or statement(filename, data, predicate_type)
    bundle_json = instance.sign_artifact(data, identity, kind="dsse", name=filename,
                                         statement=body, fault=fault)
    attestation = Attestation.from_bundle(Bundle.from_json(bundle_json))
    result: dict[str, Any] = attestation.model_dump(mode="json")
    return result
