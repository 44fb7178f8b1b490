"""`POST /api/v1/metadata` says per version whether it is signed and how (issue 12), so
`vouch lock` can prefer signed versions without reading each version document."""

from __future__ import annotations

import pytest

from tests.conftest import Actors
from tests.functional.helpers import publish


@pytest.mark.parametrize("settings_overrides", [{"default_signature_policy": "none"}],
                         indirect=True)
def test_batch_metadata_carries_signed_and_method(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "mixed", "1.0.0", b"signed").status_code == 201        # GPG
    assert publish(alice, "mixed", "1.1.0", b"unsigned", signed=False).status_code == 201
    assert publish(alice, "other", "2.0.0", b"other signed").status_code == 201
    response = actors.client().post("/api/v1/metadata", json={"names": ["mixed", "other",
                                                                         "absent"]})
    assert response.status_code == 200, response.text
    body = response.json()
    flags = {(name, v["version"]): (v["signed"], v["signing_method"])
             for name, doc in body["packages"].items() for v in doc["versions"]}
    assert flags == {("mixed", "1.0.0"): (True, "gpg"), ("mixed", "1.1.0"): (False, None),
                     ("other", "2.0.0"): (True, "gpg")}
    assert body["missing"] == ["absent"]
    # the flags agree with the version documents
    for (name, version), (signed, method) in flags.items():
        doc = alice.get(f"/api/v1/packages/{name}/versions/{version}").json()
        assert (doc["signer"] is not None) == signed
        assert (doc["signer"] or {}).get("method") == method
