"""The Rekor v1 HTTP API of the private instance answers like Rekor, with proofs that verify."""

from __future__ import annotations

import base64
import hashlib
import json

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sigstore._internal.rekor.client import RekorClient
from sigstore.hashes import Hashed
from sigstore.models import TransparencyLogEntry
from sigstore_models.common.v1 import HashAlgorithm

from tests.support.sigstore_local import (
    GitHubIdentity,
    SigstoreInstance,
    TransparencyLog,
    verify_inclusion,
)
from tests.support.sigstore_local.merkle import leaf_hash


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _verify_checkpoint(log: TransparencyLog, checkpoint: str) -> tuple[int, bytes]:
    """Check the note signature with the log key; return (tree size, root hash)."""
    note, _, sig_line = checkpoint.partition("\n\n")
    assert sig_line.startswith("\u2014 ") and sig_line.endswith("\n")
    raw = base64.b64decode(sig_line.rstrip("\n").rsplit(" ", 1)[1])
    assert raw[:4] == log.log_id[:4]
    log.public_key.verify(raw[4:], (note + "\n").encode(), ec.ECDSA(hashes.SHA256()))
    origin, size, root = note.split("\n")
    assert origin == log.origin
    return int(size), base64.b64decode(root)


def _check_rekor_entry(log: TransparencyLog, response: dict[str, dict]) -> dict:  # type: ignore[type-arg]
    """Verify one Rekor v1 entry response: proof, checkpoint and SET."""
    ((entry_id, entry),) = response.items()
    body = base64.b64decode(entry["body"])
    assert entry_id == log.tree_id_hex + leaf_hash(body).hex()
    proof = entry["verification"]["inclusionProof"]
    size, root = _verify_checkpoint(log, proof["checkpoint"])
    assert (size, root.hex()) == (proof["treeSize"], proof["rootHash"])
    assert verify_inclusion(leaf_hash(body), proof["logIndex"], size,
                            [bytes.fromhex(h) for h in proof["hashes"]], root)
    set_payload = json.dumps(
        {"body": entry["body"], "integratedTime": entry["integratedTime"],
         "logID": entry["logID"], "logIndex": entry["logIndex"]},
        separators=(",", ":"), sort_keys=True,
    ).encode()
    log.public_key.verify(base64.b64decode(entry["verification"]["signedEntryTimestamp"]),
                          set_payload, ec.ECDSA(hashes.SHA256()))
    # And sigstore-python's own parser and offline checks agree.
    parsed = TransparencyLogEntry._from_v1_response(response)
    parsed._verify(_keyring(log))
    return entry  # type: ignore[no-any-return]


def _keyring(log: TransparencyLog):  # type: ignore[no-untyped-def]
    from sigstore._internal.trust import Keyring, RekorKeyring
    from sigstore_models.common import v1

    der = log.public_key.public_bytes(serialization.Encoding.DER,
                                      serialization.PublicFormat.SubjectPublicKeyInfo)
    key = v1.PublicKey(raw_bytes=base64.b64encode(der),
                       key_details=v1.PublicKeyDetails.PKIX_ECDSA_P256_SHA_256)
    return RekorKeyring(Keyring([key]))


def test_log_info_reports_a_signed_tree_head(sigstore_instance: SigstoreInstance,
                                             github_identity: GitHubIdentity) -> None:
    sigstore_instance.sign_artifact(b"log info", github_identity)
    info = httpx.get(f"{sigstore_instance.rekor_url}/api/v1/log").json()
    size, root = _verify_checkpoint(sigstore_instance.tlog, info["signedTreeHead"])
    assert size == info["treeSize"] >= 1
    assert root.hex() == info["rootHash"] == sigstore_instance.tlog.root_hash(size).hex()
    assert info["treeID"] == str(sigstore_instance.tlog.tree_id)
    # sigstore-python's client reads the same document.
    assert RekorClient(sigstore_instance.rekor_url).log.get().tree_size >= size


def test_entry_lookup_by_uuid_entry_id_and_index_match_the_bundle(
    sigstore_instance: SigstoreInstance, github_identity: GitHubIdentity
) -> None:
    result = sigstore_instance.sign(b"look me up", github_identity)
    tlog_entry = result.bundle["verificationMaterial"]["tlogEntries"][0]
    base = f"{sigstore_instance.rekor_url}/api/v1/log/entries"
    by_id = httpx.get(f"{base}/{result.entry_id}")
    by_uuid = httpx.get(f"{base}/{result.entry.uuid}")
    by_index = httpx.get(base, params={"logIndex": result.entry.index})
    for response in (by_id, by_uuid, by_index):
        assert response.status_code == 200
        entry = _check_rekor_entry(sigstore_instance.tlog, response.json())
        assert entry["body"] == tlog_entry["canonicalizedBody"]
        assert str(entry["integratedTime"]) == tlog_entry["integratedTime"]
        assert str(entry["logIndex"]) == tlog_entry["logIndex"]
        assert (base64.b64decode(tlog_entry["logId"]["keyId"]).hex() == entry["logID"])


def test_unknown_entries_are_404(sigstore_instance: SigstoreInstance) -> None:
    base = f"{sigstore_instance.rekor_url}/api/v1/log/entries"
    missing = httpx.get(f"{base}/{'ab' * 32}")
    assert missing.status_code == 404
    assert missing.json()["code"] == 404
    assert httpx.get(base, params={"logIndex": 10**9}).status_code == 404
    assert httpx.get(base, params={"logIndex": "x"}).status_code == 400
    other_tree = "0" * 16 + "ab" * 32
    assert httpx.get(f"{base}/{other_tree}").status_code == 404


def test_index_retrieve_finds_hashedrekord_and_dsse_entries_by_artifact_digest(
    sigstore_instance: SigstoreInstance, github_identity: GitHubIdentity
) -> None:
    data = b"indexed artifact"
    first = sigstore_instance.sign(data, github_identity)
    second = sigstore_instance.sign(data, github_identity.with_(repository="mallory/widget"))
    dsse = sigstore_instance.sign(data, github_identity, kind="dsse", name="a.tgz")
    url = f"{sigstore_instance.rekor_url}/api/v1/index/retrieve"
    found = httpx.post(url, json={"hash": f"sha256:{_sha256(data)}"}).json()
    assert found == [first.entry_id, second.entry_id, dsse.entry_id]
    assert httpx.post(url, json={"hash": _sha256(data).upper()}).json() == found
    assert httpx.post(url, json={"hash": f"sha256:{'0' * 64}"}).json() == []
    assert httpx.post(url, json={"hash": "md5:abc"}).status_code == 400


def test_entries_retrieve_by_uuid_and_index(
    sigstore_instance: SigstoreInstance, github_identity: GitHubIdentity
) -> None:
    result = sigstore_instance.sign(b"retrieve", github_identity)
    url = f"{sigstore_instance.rekor_url}/api/v1/log/entries/retrieve"
    by_uuid = httpx.post(url, json={"entryUUIDs": [result.entry_id]}).json()
    by_index = httpx.post(url, json={"logIndexes": [result.entry.index]}).json()
    assert [next(iter(e)) for e in by_uuid + by_index] == [result.entry_id] * 2


def test_post_entry_from_sigstore_python_client_is_integrated(
    sigstore_instance: SigstoreInstance, github_identity: GitHubIdentity
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = sigstore_instance.issue_certificate(
        github_identity, key.public_key(), not_before=sigstore_instance.clock()
    )
    digest = hashlib.sha256(b"posted by a client").digest()
    from cryptography.hazmat.primitives.asymmetric.utils import Prehashed

    signature = key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))
    client = RekorClient(sigstore_instance.rekor_url)
    request = client._build_hashed_rekord_request(
        Hashed(algorithm=HashAlgorithm.SHA2_256, digest=digest), signature, cert
    )
    created = client.create_entry(request)  # sigstore parses and returns the entry
    created._verify(_keyring(sigstore_instance.tlog))
    index = created._inner.log_index
    fetched = sigstore_instance.tlog.get_by_index(index)
    assert fetched is not None and fetched.body == created._inner.canonicalized_body

    again = httpx.post(f"{sigstore_instance.rekor_url}/api/v1/log/entries", json=request)
    assert again.status_code == 409
    assert again.headers["Location"].endswith(sigstore_instance.tlog.entry_id(fetched))


@pytest.mark.parametrize(
    "body",
    [
        {"apiVersion": "0.0.1", "kind": "rekord", "spec": {}},
        {"apiVersion": "0.0.2", "kind": "hashedrekord", "spec": {}},
        {"apiVersion": "0.0.1", "kind": "hashedrekord", "spec": {"data": {}}},
        [],
    ],
    ids=["unsupported-kind", "unsupported-version", "malformed", "not-an-object"],
)
def test_post_rejects_what_rekor_would_refuse(
    sigstore_instance: SigstoreInstance, body: object
) -> None:
    response = httpx.post(f"{sigstore_instance.rekor_url}/api/v1/log/entries", json=body)
    assert response.status_code == 400
    assert response.json()["code"] == 400


def test_post_rejects_a_signature_that_does_not_match_the_digest(
    sigstore_instance: SigstoreInstance, github_identity: GitHubIdentity
) -> None:
    proposal = json.loads(
        base64.b64decode(
            sigstore_instance.sign(b"a", github_identity).bundle["verificationMaterial"]
            ["tlogEntries"][0]["canonicalizedBody"]
        )
    )
    proposal["spec"]["data"]["hash"]["value"] = _sha256(b"b")
    response = httpx.post(f"{sigstore_instance.rekor_url}/api/v1/log/entries", json=proposal)
    assert response.status_code == 400
    assert "signature" in response.json()["message"]


def test_bundle_proof_stays_consistent_with_later_tree_heads(
    fresh_sigstore_instance: SigstoreInstance, github_identity: GitHubIdentity
) -> None:
    inst = fresh_sigstore_instance
    first = inst.sign(b"first", github_identity)
    for n in range(6):
        inst.sign(f"later {n}".encode(), github_identity)
    with inst.serve() as server:
        proof = httpx.get(f"{server.url}/api/v1/log/proof",
                          params={"firstSize": first.proof.tree_size, "lastSize": 7}).json()
        current = httpx.get(f"{server.url}/api/v1/log/entries/{first.entry_id}").json()
    assert proof["rootHash"] == inst.tlog.root_hash(7).hex()
    assert inst.tlog.consistency_proof(first.proof.tree_size, 7) == [
        bytes.fromhex(h) for h in proof["hashes"]
    ]
    entry = _check_rekor_entry(inst.tlog, current)
    assert entry["verification"]["inclusionProof"]["treeSize"] == 7


def test_server_stops_and_releases_its_port(fresh_sigstore_instance: SigstoreInstance) -> None:
    server = fresh_sigstore_instance.serve()
    url = server.url
    assert httpx.get(f"{url}/api/v1/log").status_code == 200
    server.stop()
    server.stop()  # idempotent
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/api/v1/log")
