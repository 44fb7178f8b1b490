"""Rekor v1 lookups against a fake log serving real public-good entries."""

from __future__ import annotations

import base64
import copy
import json

import httpx
import pytest

from signing.errors import RekorUnavailable, TransparencyLogError
from signing.merkle import leaf_hash, root_from_inclusion_proof
from signing.rekor import RekorClient
from signing.trust import TrustRoot

from .conftest import DATA, sha256_file
from .rekor_fake import FakeRekor, entry_from_bundle

WHL_BUNDLE = (DATA / "sigstore-python/bundle_v3_github.whl.sigstore").read_bytes()
WHL_SHA = sha256_file(DATA / "sigstore-python/bundle_v3_github.whl")
BEACON_BUNDLE = (DATA / "conformance/happy-path-v0.3/bundle.sigstore.json").read_bytes()
A_TXT_SHA = sha256_file(DATA / "conformance/a.txt")


@pytest.fixture
def fake():
    log = FakeRekor()
    for bundle, sha in ((WHL_BUNDLE, WHL_SHA), (BEACON_BUNDLE, A_TXT_SHA)):
        uuid, entry = entry_from_bundle(bundle)
        log.add(uuid, entry, sha)
    return log


def client(fake, mode="fail_closed"):
    return RekorClient("https://rekor.example", trust=TrustRoot.public_good(), mode=mode,
                       transport=fake.transport())


def test_confirm_bundle_entry(fake):
    confirmation = client(fake).confirm_bundle_entry(WHL_BUNDLE)
    assert confirmation.status == "confirmed"
    assert confirmation.entry is not None
    assert confirmation.entry.log_index == entry_from_bundle(WHL_BUNDLE)[1]["logIndex"]
    assert fake.requests[0].url.params["logIndex"] == str(confirmation.entry.log_index)


def test_get_entry_by_uuid_and_index(fake):
    uuid, raw = entry_from_bundle(BEACON_BUNDLE)
    rekor = client(fake)
    assert rekor.get_entry(uuid).log_index == raw["logIndex"]
    assert rekor.get_entry(raw["logIndex"]).uuid == uuid


def test_entry_not_in_the_log(fake):
    uuid, _ = entry_from_bundle(WHL_BUNDLE)
    del fake.entries[uuid]
    with pytest.raises(TransparencyLogError, match="no entry"):
        client(fake).confirm_bundle_entry(WHL_BUNDLE)
    with pytest.raises(TransparencyLogError):
        client(fake, "fail_open").confirm_bundle_entry(WHL_BUNDLE)


def _tamper(fake, bundle, change):
    uuid, _ = entry_from_bundle(bundle)
    entry = copy.deepcopy(fake.entries[uuid])
    change(entry)
    fake.entries[uuid] = entry


def test_log_returns_another_integrated_time(fake):
    _tamper(fake, WHL_BUNDLE, lambda e: e.update(integratedTime=e["integratedTime"] + 1))
    with pytest.raises(TransparencyLogError, match=r"SET|integrated"):
        client(fake).confirm_bundle_entry(WHL_BUNDLE)


def test_log_returns_another_body_under_the_same_index(fake):
    """The log answers the beacon entry when asked for the wheel's index."""
    _, beacon = entry_from_bundle(BEACON_BUNDLE)
    _tamper(fake, WHL_BUNDLE, lambda e: e.update(logIndex=-1))
    whl_index = entry_from_bundle(WHL_BUNDLE)[1]["logIndex"]
    fake.fail = lambda r: (httpx.Response(200, json={entry_from_bundle(BEACON_BUNDLE)[0]: beacon})
                           if r.url.params.get("logIndex") == str(whl_index) else None)
    with pytest.raises(TransparencyLogError, match="another body"):
        client(fake).confirm_bundle_entry(WHL_BUNDLE)


def test_corrupted_inclusion_proof(fake):
    def corrupt(entry):
        hashes = entry["verification"]["inclusionProof"]["hashes"]
        hashes[0] = ("00" if hashes[0][:2] != "00" else "11") + hashes[0][2:]
    _tamper(fake, WHL_BUNDLE, corrupt)
    with pytest.raises(TransparencyLogError, match="inclusion proof"):
        client(fake).confirm_bundle_entry(WHL_BUNDLE)


def test_checkpoint_signed_by_an_unknown_key(fake):
    def resign(entry):
        proof = entry["verification"]["inclusionProof"]
        note, _, _ = proof["checkpoint"].partition("\n\n")
        bogus = base64.b64encode(b"\x00\x01\x02\x03" + b"\x30" * 70).decode()
        proof["checkpoint"] = f"{note}\n\n\u2014 rekor.example {bogus}\n"
    _tamper(fake, WHL_BUNDLE, resign)
    with pytest.raises(TransparencyLogError, match="checkpoint"):
        client(fake).confirm_bundle_entry(WHL_BUNDLE)


def test_bad_signed_entry_timestamp(fake):
    _tamper(fake, WHL_BUNDLE, lambda e: e["verification"].update(
        signedEntryTimestamp=entry_from_bundle(BEACON_BUNDLE)[1]["verification"][
            "signedEntryTimestamp"]))
    with pytest.raises(TransparencyLogError, match="SET"):
        client(fake).confirm_bundle_entry(WHL_BUNDLE)


def test_uuid_must_be_the_leaf_hash(fake):
    _uuid, entry = entry_from_bundle(WHL_BUNDLE)
    other = "ab" * 32
    fake.entries[other] = entry
    with pytest.raises(TransparencyLogError, match="UUID"):
        client(fake).get_entry(other)


@pytest.mark.parametrize("failure", [
    httpx.ConnectError("connection refused"),
    httpx.ReadTimeout("timed out"),
])
def test_unreachable_log_fail_closed_and_fail_open(fake, failure):
    def boom(request):
        raise failure
    fake.fail = boom
    with pytest.raises(RekorUnavailable) as info:
        client(fake).confirm_bundle_entry(WHL_BUNDLE)
    assert info.value.code == "rekor_unavailable"
    assert client(fake, "fail_open").confirm_bundle_entry(WHL_BUNDLE).status == "unavailable"
    assert client(fake, "fail_open").search_by_digest(WHL_SHA) == []
    with pytest.raises(RekorUnavailable):
        client(fake).entries_for_digest(WHL_SHA)


def test_server_error_is_unavailable(fake):
    fake.fail = lambda r: httpx.Response(503, text="down")
    with pytest.raises(RekorUnavailable):
        client(fake).search_by_digest(WHL_SHA)


def test_mode_off_makes_no_request(fake):
    rekor = client(fake, "off")
    assert rekor.confirm_bundle_entry(WHL_BUNDLE).status == "skipped"
    assert rekor.search_by_digest(WHL_SHA) == []
    assert rekor.entries_for_digest(WHL_SHA) == []
    assert fake.requests == []


def test_rekor_v2_bundle_is_skipped(fake):
    bundle = (DATA / "sigstore-python/staging-rekor-v2.txt.sigstore.json").read_bytes()
    assert client(fake).confirm_bundle_entry(bundle).status == "skipped"
    assert fake.requests == []


def test_search_and_entries_for_digest(fake):
    rekor = client(fake)
    uuid, _ = entry_from_bundle(WHL_BUNDLE)
    assert rekor.search_by_digest(WHL_SHA.upper()) == [uuid]
    request = fake.requests[-1]
    assert json.loads(request.content) == {"hash": f"sha256:{WHL_SHA}"}
    signers = rekor.entries_for_digest(WHL_SHA)
    assert [s.identity for s in signers] == [
        "https://github.com/trailofbits/rfc8785.py/.github/workflows/release.yml@refs/tags/v0.1.2"]
    assert signers[0].issuer == "https://token.actions.githubusercontent.com"
    assert signers[0].kind == "hashedrekord"
    assert rekor.search_by_digest("0" * 64) == []


def test_entries_for_digest_skips_unprovable_entries(fake):
    uuid, _ = entry_from_bundle(BEACON_BUNDLE)
    fake.index[WHL_SHA].append(uuid)
    _tamper(fake, BEACON_BUNDLE, lambda e: e.update(integratedTime=1))
    signers = client(fake).entries_for_digest(WHL_SHA)
    assert len(signers) == 1


def test_merkle_proof_small_trees():
    leaves = [leaf_hash(bytes([i])) for i in range(5)]

    def node(a, b):
        import hashlib
        return hashlib.sha256(b"\x01" + a + b).digest()

    n01, n23 = node(leaves[0], leaves[1]), node(leaves[2], leaves[3])
    root = node(node(n01, n23), leaves[4])
    assert root_from_inclusion_proof(4, 5, leaves[4], [node(n01, n23)]) == root
    assert root_from_inclusion_proof(2, 5, leaves[2], [leaves[3], n01, leaves[4]]) == root
    with pytest.raises(TransparencyLogError):
        root_from_inclusion_proof(5, 5, leaves[4], [])
    with pytest.raises(TransparencyLogError):
        root_from_inclusion_proof(2, 5, leaves[2], [leaves[3], n01])
