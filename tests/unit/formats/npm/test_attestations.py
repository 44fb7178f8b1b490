"""npm's attestations document and the packument's pointer to it."""

import base64
import json

from formats.npm.attestations import attestations_document, pointer, predicate_type


def bundle(statement: object) -> str:
    payload = base64.b64encode(json.dumps(statement).encode()).decode()
    return json.dumps({"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
                       "dsseEnvelope": {"payload": payload, "payloadType":
                                        "application/vnd.in-toto+json", "signatures": []}})


SLSA = bundle({"_type": "https://in-toto.io/Statement/v1",
               "predicateType": "https://slsa.dev/provenance/v1", "subject": []})


def test_document_and_pointer():
    assert predicate_type(SLSA) == "https://slsa.dev/provenance/v1"
    assert attestations_document([SLSA]) == {"attestations": [
        {"predicateType": "https://slsa.dev/provenance/v1", "bundle": json.loads(SLSA)}]}
    assert pointer("http://h/x", SLSA) == {
        "url": "http://h/x", "provenance": {"predicateType": "https://slsa.dev/provenance/v1"}}


def test_bundles_without_a_statement_are_not_listed():
    message_signature = json.dumps({"messageSignature": {"signature": "x"}})
    for raw in (message_signature, "not json", bundle([1]), json.dumps({"dsseEnvelope": {
            "payload": "!!"}})):
        assert predicate_type(raw) is None
        assert attestations_document([raw]) == {"attestations": []}
        assert pointer("u", raw) is None
