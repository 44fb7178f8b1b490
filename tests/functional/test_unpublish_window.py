"""Unpublish inside the grace window only; tombstones burn the number; deprecation any time.

Every version here is signed (GPG through the real `gpg`, Sigstore through the local
instance), as the production default demands: issue 10 found that unpublishing any signed
version was a 500 because the provenance row still pointed at the deleted file row.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import Actors, state_counts
from tests.functional.helpers import assert_problem, sha256
from tests.functional.signed_publish import GpgPublisher, SigstorePublisher, make_key
from tests.support.sigstore_local import SigstoreInstance
from tests.unit.signing.gpg_keys import GeneratedKey, Keyring


@pytest.fixture(scope="module")
def gpg_key(keyring: Keyring) -> GeneratedKey:
    return make_key(keyring, "Alice <alice@example.test>")


@pytest.fixture
def alice(actors: Actors, keyring: Keyring, gpg_key: GeneratedKey) -> GpgPublisher:
    return GpgPublisher.register(actors, keyring, gpg_key, "alice")


def _audit(actors: Actors, action: str, package: str) -> list[dict[str, object]]:
    admin = actors.client(actors.user("auditor", admin=True))
    events = admin.get("/api/v1/audit-events", params={"package": package}).json()
    return [e for e in events if e["action"] == action]


def test_unpublishing_a_gpg_signed_version_keeps_its_evidence(actors: Actors,
                                                              alice: GpgPublisher) -> None:
    data = b"gpg signed, then unpublished"
    assert alice.publish("signed", "1.0.0", data).status_code == 201
    actors.server.clock.advance(timedelta(hours=23))
    response = alice.client.delete("/api/v1/packages/signed/versions/1.0.0")
    assert response.status_code == 204, response.text

    assert_problem(alice.client.get("/api/v1/packages/signed/versions/1.0.0/artifact"), 410,
                   "version_unpublished")
    assert_problem(alice.publish("signed", "1.0.0", b"other bytes"), 409, "version_burned")
    assert_problem(alice.publish("signed", "1.0.0", data), 409, "version_burned")
    # The provenance stays as audit evidence: who signed what, verifiable offline.
    evidence = alice.client.get("/api/v1/packages/signed/versions/1.0.0/provenance")
    assert evidence.status_code == 200, evidence.text
    assert evidence.json()["method"] == "gpg"
    assert evidence.json()["identity"]["fingerprint"] == alice.key.fingerprint
    assert "BEGIN PGP SIGNATURE" in evidence.json()["signature"]
    doc = alice.client.get("/api/v1/packages/signed/versions/1.0.0").json()
    assert doc["unpublished"] is True and doc["artifact_url"] is None
    assert doc["sha256"] == sha256(data) and doc["signer"]["method"] == "gpg"
    [event] = _audit(actors, "version:unpublish", "signed")
    assert event["version"] == "1.0.0" and event["actor"] == "alice"
    assert event["details"]["sha256"] == [sha256(data)]  # type: ignore[index]
    assert event["details"]["blobs_deleted"] == [sha256(data)]  # type: ignore[index]
    assert state_counts(actors.server).blob_files == 0


def test_unpublishing_a_sigstore_signed_version_keeps_its_evidence(
        actors: Actors, sigstore_instance: SigstoreInstance) -> None:
    owner = SigstorePublisher.register(actors, sigstore_instance, "olga")
    data = b"widget, signed keylessly"
    assert owner.publish("1.0.0", data).status_code == 201
    assert owner.publish("1.0.1", b"widget 1.0.1").status_code == 201
    url = "/api/v1/packages/@acme/widget/versions/1.0.0"
    assert owner.client.delete(url).status_code == 204
    assert_problem(owner.client.get(url + "/artifact"), 410, "version_unpublished")
    assert_problem(owner.publish("1.0.0", data), 409, "version_burned")
    evidence = owner.client.get(url + "/provenance")
    assert evidence.status_code == 200 and evidence.json()["method"] == "sigstore"
    assert evidence.json()["bundle"]["mediaType"]
    assert owner.client.get(url.replace("1.0.0", "1.0.1") + "/artifact").content == b"widget 1.0.1"
    assert len(_audit(actors, "version:unpublish", "@acme/widget")) == 1
    assert state_counts(actors.server).blob_files == 1


def test_unpublish_within_window_tombstones_and_deletes_unshared_blob(
        actors: Actors, alice: GpgPublisher) -> None:
    client = alice.client
    assert alice.publish("pkg", "1.0.0", b"unique bytes").status_code == 201
    assert alice.publish("pkg", "1.1.0", b"kept bytes").status_code == 201
    actors.server.clock.advance(timedelta(hours=23, minutes=59))
    assert client.delete("/api/v1/packages/pkg/versions/1.0.0").status_code == 204

    assert_problem(client.get("/api/v1/packages/pkg/versions/1.0.0/artifact"), 410,
                   "version_unpublished")
    doc = client.get("/api/v1/packages/pkg/versions/1.0.0").json()
    # The digest stays in the record (evidence, like quarantine); the bytes are not served.
    assert doc["unpublished"] is True and doc["artifact_url"] is None
    assert doc["sha256"] == sha256(b"unique bytes")
    package = client.get("/api/v1/packages/pkg").json()
    assert package["latest"] == "1.1.0"
    assert [v["unpublished"] for v in package["versions"]] == [True, False]
    counts = state_counts(actors.server)
    assert counts.blob_files == 1  # only the 1.1.0 bytes are left in storage
    assert actors.server.registry.blobs.keys() == [sha256(b"kept bytes")]

    # The number is burned forever.
    body = assert_problem(alice.publish("pkg", "1.0.0", b"new bytes"), 409, "version_burned")
    assert "burned" in body["detail"]
    assert_problem(client.delete("/api/v1/packages/pkg/versions/1.0.0"), 410,
                   "version_unpublished")
    assert state_counts(actors.server) == counts


def test_unpublish_keeps_a_blob_another_version_shares(actors: Actors,
                                                       alice: GpgPublisher) -> None:
    assert alice.publish("a", "1.0.0", b"shared").status_code == 201
    assert alice.publish("b", "1.0.0", b"shared").status_code == 201
    assert alice.client.delete("/api/v1/packages/a/versions/1.0.0").status_code == 204
    assert alice.client.get("/api/v1/packages/b/versions/1.0.0/artifact").content == b"shared"
    assert state_counts(actors.server).blob_files == 1
    [event] = _audit(actors, "version:unpublish", "a")
    assert event["details"]["blobs_deleted"] == []  # type: ignore[index]


def test_bytes_of_an_unpublished_version_come_back_with_a_new_publish(
        actors: Actors, alice: GpgPublisher) -> None:
    """The blob row outlives the bytes (evidence); a later publish of the same bytes stores
    them again instead of trusting the row."""
    assert alice.publish("a", "1.0.0", b"again").status_code == 201
    assert alice.client.delete("/api/v1/packages/a/versions/1.0.0").status_code == 204
    assert state_counts(actors.server).blob_files == 0
    assert alice.publish("a", "1.0.1", b"again").status_code == 201
    assert alice.client.get("/api/v1/packages/a/versions/1.0.1/artifact").content == b"again"
    assert state_counts(actors.server).blob_files == 1


def test_unpublish_after_window_is_refused_and_says_deprecate(actors: Actors,
                                                              alice: GpgPublisher) -> None:
    assert alice.publish("pkg", "1.0.0", b"old enough").status_code == 201
    actors.server.clock.advance(timedelta(hours=24, seconds=1))
    before = state_counts(actors.server)
    body = assert_problem(alice.client.delete("/api/v1/packages/pkg/versions/1.0.0"), 409,
                          "unpublish_window_closed")
    assert "Deprecate it instead" in body["detail"]
    assert body["grace_seconds"] == 86400
    assert state_counts(actors.server) == before
    assert alice.client.get("/api/v1/packages/pkg/versions/1.0.0/artifact").status_code == 200


def test_only_owners_unpublish_and_deprecate(actors: Actors, alice: GpgPublisher) -> None:
    mallory = actors.client(actors.user("mallory"))
    assert alice.publish("pkg", "1.0.0", b"alice's").status_code == 201
    before = state_counts(actors.server)
    assert_problem(mallory.delete("/api/v1/packages/pkg/versions/1.0.0"), 403, "forbidden")
    assert_problem(mallory.put("/api/v1/packages/pkg/versions/1.0.0/deprecation",
                               json={"message": "x"}), 403, "forbidden")
    assert_problem(actors.client().delete("/api/v1/packages/pkg/versions/1.0.0"), 401,
                   "not_authenticated")
    assert state_counts(actors.server) == before


def test_deprecate_any_time_and_undeprecate(actors: Actors, alice: GpgPublisher) -> None:
    client = alice.client
    assert alice.publish("pkg", "1.0.0", b"old").status_code == 201
    actors.server.clock.advance(timedelta(days=400))
    response = client.put("/api/v1/packages/pkg/versions/1.0.0/deprecation",
                          json={"message": "use 2.x"})
    assert response.status_code == 200 and response.json()["deprecated"] == "use 2.x"
    assert client.get("/api/v1/packages/pkg/versions/1.0.0").json()["deprecated"] == "use 2.x"
    assert client.get("/api/v1/packages/pkg/versions/1.0.0/artifact").content == b"old"
    assert_problem(client.put("/api/v1/packages/pkg/versions/1.0.0/deprecation",
                              json={"message": ""}), 422, "validation_error")
    response = client.delete("/api/v1/packages/pkg/versions/1.0.0/deprecation")
    assert response.status_code == 200 and response.json()["deprecated"] is None


def test_audit_log_records_every_change_for_admins_only(actors: Actors,
                                                        alice: GpgPublisher) -> None:
    admin_token = actors.user("root", admin=True)
    admin, client = actors.client(admin_token), alice.client
    assert alice.publish("pkg", "1.0.0", b"audited").status_code == 201
    assert client.put("/api/v1/packages/pkg/versions/1.0.0/deprecation",
                      json={"message": "old"}).status_code == 200
    assert client.delete("/api/v1/packages/pkg/versions/1.0.0").status_code == 204
    created = client.post("/api/v1/tokens", json={"name": "ci"})
    assert created.status_code == 201
    secrets = [admin_token, alice.token, created.json()["token"]]
    assert_problem(client.get("/api/v1/audit-events"), 403, "forbidden")
    events = admin.get("/api/v1/audit-events").json()
    actions = [e["action"] for e in events]
    for expected in ("user:create", "token:create", "package:create", "version:publish",
                     "version:deprecate", "version:unpublish"):
        assert expected in actions
    dump = str(events)
    assert not any(secret in dump for secret in secrets), "a secret leaked into the audit log"
    only_pkg = admin.get("/api/v1/audit-events", params={"package": "pkg"}).json()
    assert {e["package"] for e in only_pkg} == {"pkg"}


def test_cached_documents_reflect_changes_at_once(alice: GpgPublisher) -> None:
    client = alice.client
    assert alice.publish("pkg", "1.0.0", b"cached").status_code == 201
    url = "/api/v1/packages/pkg/versions/1.0.0"
    first = client.get(url)
    assert first.json()["deprecated"] is None
    again = client.get(url, headers={"If-None-Match": client.get(url).headers["etag"]})
    assert again.status_code == 304
    assert client.put(url + "/deprecation", json={"message": "gone soon"}).status_code == 200
    assert client.get(url).json()["deprecated"] == "gone soon"
    assert client.get("/api/v1/packages/pkg").json()["versions"][0]["deprecated"] == "gone soon"
    assert client.delete(url).status_code == 204
    assert client.get(url).json()["unpublished"] is True
