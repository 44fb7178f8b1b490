"""The npm registry protocol over real HTTP (the wire shapes; the real npm CLI is in
test_npm_client.py): packuments, tarballs, publishes and their refusals, keys, audit."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json

from sqlmodel import select

from app.core.db import session_scope
from app.core.models import PackageFile, PackageVersion, Provenance
from app.npm.tags import NpmDistTag
from formats.npm.signatures import verify
from tests.conftest import Actors, state_counts
from tests.functional.helpers import assert_problem
from tests.functional.npm_support import package_json, path, publish_body, tarball
from tests.support.server import RunningServer

CORGI = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*"


def signed_body(actors: Actors, user: str, name: str, version: str, data: bytes,
                **kwargs: object) -> dict:
    signer = actors.signers[user]
    return publish_body(name, version, data, gpg_signature=signer.sign(data), **kwargs)


def test_publish_then_read_packuments_and_tarball(actors: Actors, server: RunningServer) -> None:
    alice = actors.client(actors.user("alice"))
    assert alice.post("/api/v1/orgs", json={"name": "acme"}).status_code == 201
    manifest = package_json("@acme/widget", "1.0.0", dependencies={"left-pad": "^1.0.0"})
    data = tarball(manifest)
    response = alice.put(path("@acme/widget"), json=signed_body(
        actors, "alice", "@acme/widget", "1.0.0", data, manifest=manifest))
    assert response.status_code == 201, response.text
    assert response.json()["ok"] is True

    # either case of %2f reaches the package; the full document by default
    for spelling in ("/npm/@acme%2fwidget", "/npm/@acme%2Fwidget", "/npm/@acme/widget"):
        full = alice.get(spelling)
        assert full.status_code == 200, full.text
    doc = full.json()
    assert doc["name"] == doc["_id"] == "@acme/widget"
    assert doc["dist-tags"] == {"latest": "1.0.0"}
    assert set(doc["time"]) == {"created", "modified", "1.0.0"}
    version = doc["versions"]["1.0.0"]
    tarball_url = f"{server.url}/npm/@acme/widget/-/widget-1.0.0.tgz"
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    assert version["dist"]["tarball"] == tarball_url
    assert version["dist"]["integrity"] == integrity
    assert version["dist"]["shasum"] == hashlib.sha1(data, usedforsecurity=False).hexdigest()
    assert version["_npmUser"] == {"name": "alice"}
    assert version["dependencies"] == {"left-pad": "^1.0.0"}
    keys = alice.get("/npm/-/npm/v1/keys").json()["keys"]
    (signature,) = version["dist"]["signatures"]
    assert verify(keys[0], signature, "@acme/widget", "1.0.0", integrity)

    corgi = alice.get("/npm/@acme%2fwidget", headers={"Accept": CORGI})
    assert corgi.headers["content-type"].startswith("application/vnd.npm.install-v1+json")
    assert set(corgi.json()) == {"name", "modified", "dist-tags", "versions"}
    assert "_npmUser" not in corgi.json()["versions"]["1.0.0"]

    got = alice.get(tarball_url)
    assert got.status_code == 200 and got.content == data
    assert got.headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'


def test_existing_version_is_refused_with_npms_wording(actors: Actors,
                                                       server: RunningServer) -> None:
    alice = actors.client(actors.user("alice"))
    data = tarball(package_json("left-pad", "1.0.0"))
    assert alice.put(path("left-pad"), json=signed_body(actors, "alice", "left-pad", "1.0.0",
                                                        data)).status_code == 201
    before = state_counts(server)
    other = tarball(package_json("left-pad", "1.0.0"), {"index.js": b"changed"})
    response = alice.put(path("left-pad"),
                         json=signed_body(actors, "alice", "left-pad", "1.0.0", other))
    body = assert_problem(response, 409, "version_exists")
    assert body["error"] == ("You cannot publish over the previously published versions: "
                             "1.0.0.")
    assert state_counts(server) == before


def test_refused_publishes_leave_nothing_behind(actors: Actors, server: RunningServer) -> None:
    alice = actors.client(actors.user("alice"))
    data = tarball(package_json("left-pad", "1.0.0"))
    before = state_counts(server)
    unsigned = publish_body("left-pad", "1.0.0", data)
    cases = [
        (unsigned, 400, "signature_required"),
        (signed_body(actors, "alice", "left-pad", "1.0.0", data,
                     manifest=package_json("left-pad", "1.0.0", dependencies={"x": "1"})),
         400, "metadata_mismatch"),
    ]
    wrong_digest = signed_body(actors, "alice", "left-pad", "1.0.0", data)
    wrong_digest["versions"]["1.0.0"]["dist"]["shasum"] = "0" * 40
    cases.append((wrong_digest, 400, "digest_mismatch"))
    forged = publish_body("left-pad", "1.0.0", data,
                          gpg_signature=actors.signers["alice"].sign(b"other bytes"))
    cases.append((forged, 400, "signature_invalid"))
    for body, status, code in cases:
        response = alice.put(path("left-pad"), json=body)
        problem = assert_problem(response, status, code)
        assert problem["error"] == problem["detail"]
    assert state_counts(server) == before
    assert alice.get("/npm/left-pad").status_code == 404
    anonymous = actors.client()
    assert_problem(anonymous.put(path("left-pad"), json=signed_body(
        actors, "alice", "left-pad", "1.0.0", data)), 401, "not_authenticated")
    assert state_counts(server) == before


def test_whoami_ping_keys(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    assert alice.get("/npm/-/whoami").json() == {"username": "alice"}
    assert_problem(actors.client().get("/npm/-/whoami"), 401, "not_authenticated")
    assert alice.get("/npm/-/ping").json() == {}
    (key,) = alice.get("/npm/-/npm/v1/keys").json()["keys"]
    assert key["keytype"] == "ecdsa-sha2-nistp256" and key["keyid"].startswith("SHA256:")


def test_audit_bulk_answers_from_published_advisories(actors: Actors,
                                                      server: RunningServer) -> None:
    security = actors.client(actors.user("sec", security=True))
    record = {"id": "GHSA-aaaa-bbbb-cccc", "modified": "2026-01-01T00:00:00Z",
              "summary": "left-pad pads too much",
              "affected": [{"package": {"ecosystem": "npm", "name": "left-pad"},
                            "ranges": [{"type": "SEMVER", "events": [
                                {"introduced": "0"}, {"fixed": "1.1.0"}]}]}],
              "database_specific": {"severity": "HIGH"}}
    imported = security.post("/api/v1/advisories/import", json=[record])
    assert imported.status_code == 200 and imported.json()["invalid"] == 0, imported.text
    body = gzip.compress(json.dumps({"left-pad": ["1.0.0"], "other": ["1.0.0"]}).encode())
    response = actors.client().post("/npm/-/npm/v1/security/advisories/bulk", content=body,
                                    headers={"Content-Type": "application/json",
                                             "Content-Encoding": "gzip"})
    assert response.status_code == 200, response.text
    (item,) = response.json()["left-pad"]
    assert item["severity"] == "high" and item["vulnerable_versions"] == "<1.1.0"
    assert item["url"].endswith("/advisories/GHSA-aaaa-bbbb-cccc")
    fixed = gzip.compress(json.dumps({"left-pad": ["1.1.0"]}).encode())
    assert actors.client().post("/npm/-/npm/v1/security/advisories/bulk", content=fixed,
                                headers={"Content-Encoding": "gzip"}).json() == {}


def test_stored_manifest_is_the_registrys(actors: Actors, server: RunningServer) -> None:
    alice = actors.client(actors.user("alice"))
    data = tarball(package_json("left-pad", "1.0.0"))
    body = signed_body(actors, "alice", "left-pad", "1.0.0", data)
    body["versions"]["1.0.0"]["_npmUser"] = {"name": "mallory"}
    assert alice.put(path("left-pad"), json=body).status_code == 201
    with session_scope(server.registry.engine) as session:
        (file,) = session.exec(select(PackageFile)).all()
        stored = json.loads(file.core_metadata)
    assert stored["_npmUser"] == {"name": "alice"}
    assert "_nodeVersion" not in stored and "tarball" not in stored["dist"]


def _provenance(actors: Actors, user: str, subject: str, data: bytes) -> bytes:
    """An npm provenance bundle (``npm publish --provenance`` shape: a DSSE in-toto statement
    whose one subject is the package URL with the tarball's sha512) from the local Sigstore
    instance, signed as ``user``'s workflow identity."""
    signer = actors.signers[user]
    statement = {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": subject, "digest": {"sha512": hashlib.sha512(data).hexdigest()}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {"buildDefinition": {"buildType": "https://slsa-framework.github.io/"
                                          "github-actions-buildtypes/workflow/v1"},
                      "runDetails": {"builder": {"id": "https://github.com/actions/runner"}}},
    }
    return actors.signing.sigstore.sign(data, signer.identity, kind="dsse",
                                        statement=statement).bundle_json


def test_provenance_attachment_verified_against_trusted_publishers(
        actors: Actors, server: RunningServer) -> None:
    token = actors.user("ci", signing="sigstore")
    client = actors.client(token)
    signer = actors.signers["ci"]
    manifest = package_json("left-pad", "1.0.0")
    data = tarball(manifest)
    before = state_counts(server)
    # No trusted publisher for left-pad yet: refused, nothing stored.
    bundle = _provenance(actors, "ci", "pkg:npm/left-pad@1.0.0", data)
    response = client.put(path("left-pad"), json=publish_body(
        "left-pad", "1.0.0", data, manifest=manifest, provenance=bundle))
    assert_problem(response, 400, "no_trusted_publisher")
    signer.trust("left-pad", signer.identity)
    # A statement about another package (or other bytes) is refused.
    for subject, signed in (("pkg:npm/right-pad@1.0.0", data), ("pkg:npm/left-pad@1.0.0", b"x")):
        other = _provenance(actors, "ci", subject, signed)
        response = client.put(path("left-pad"), json=publish_body(
            "left-pad", "1.0.0", data, manifest=manifest, provenance=other))
        assert_problem(response, 400, "artifact_mismatch")
    assert state_counts(server) == before
    response = client.put(path("left-pad"), json=publish_body(
        "left-pad", "1.0.0", data, manifest=manifest, provenance=bundle))
    assert response.status_code == 201, response.text
    with session_scope(server.registry.engine) as session:
        (row,) = session.exec(select(Provenance)).all()
    assert row.method == "sigstore" and row.identity
    assert "vouch-tests/ci" in json.dumps(row.identity)
    # npm audit signatures: dist.attestations points at the verified bundle, served as npm reads it
    dist = client.get("/npm/left-pad").json()["versions"]["1.0.0"]["dist"]
    url = f"{server.url}/npm/-/npm/v1/attestations/left-pad@1.0.0"
    assert dist["attestations"] == {"url": url, "provenance": {
        "predicateType": "https://slsa.dev/provenance/v1"}}
    (attestation,) = client.get(url).json()["attestations"]
    assert attestation["predicateType"] == "https://slsa.dev/provenance/v1"
    assert attestation["bundle"] == json.loads(bundle)
    assert_problem(client.get(f"{server.url}/npm/-/npm/v1/attestations/left-pad@9.9.9"), 404,
                   "not_found")


def test_scoped_subject_uses_npms_package_url(actors: Actors, server: RunningServer) -> None:
    token = actors.user("ci", signing="sigstore")
    client = actors.client(token)
    assert client.post("/api/v1/orgs", json={"name": "acme"}).status_code == 201
    signer = actors.signers["ci"]
    signer.trust("@acme/widget", signer.identity)
    manifest = package_json("@acme/widget", "2.0.0")
    data = tarball(manifest)
    bundle = _provenance(actors, "ci", "pkg:npm/%40acme/widget@2.0.0", data)
    response = client.put(path("@acme/widget"), json=publish_body(
        "@acme/widget", "2.0.0", data, manifest=manifest, provenance=bundle))
    assert response.status_code == 201, response.text
    url = f"{server.url}/npm/-/npm/v1/attestations/@acme/widget@2.0.0"
    assert client.get(path("@acme/widget")).json()["versions"]["2.0.0"]["dist"][
        "attestations"]["url"] == url
    assert client.get(url).json()["attestations"][0]["bundle"] == json.loads(bundle)


def test_packuments_never_answer_stale_after_a_write(actors: Actors,
                                                     server: RunningServer) -> None:
    """Packuments are cached per process (app/npm/fast_packuments.py); a write by anyone,
    here straight to the database as another replica's would be, shows at the next read."""
    alice = actors.client(actors.user("alice"))
    data = tarball(package_json("left-pad", "1.0.0"))
    assert alice.put(path("left-pad"), json=signed_body(
        actors, "alice", "left-pad", "1.0.0", data)).status_code == 201
    for accept in (CORGI, "application/json"):
        first = alice.get("/npm/left-pad", headers={"Accept": accept})
        second = alice.get("/npm/left-pad", headers={"Accept": accept})
        assert first.json() == second.json()
        # the route's mark for the packument cache is not sent, cached or not
        assert not {"x-vouch-hosted-packument"} & {*first.headers, *second.headers}
        assert "deprecated" not in first.json()["versions"]["1.0.0"]
    with session_scope(server.registry.engine, write=True) as session:
        row = session.exec(select(PackageVersion)).one()
        row.deprecated = "written elsewhere"
        session.add(row)
    for accept in (CORGI, "application/json"):
        doc = alice.get("/npm/left-pad", headers={"Accept": accept}).json()
        assert doc["versions"]["1.0.0"]["deprecated"] == "written elsewhere"
    # another Host gets its own tarball URLs, not the cached ones
    other = alice.get("/npm/left-pad", headers={"Host": "registry.example:8080"}).json()
    assert other["versions"]["1.0.0"]["dist"]["tarball"].startswith(
        "http://registry.example:8080/npm/")


def test_tarball_downloads_count_and_quarantine_hides_a_version(actors: Actors,
                                                                server: RunningServer) -> None:
    alice = actors.client(actors.user("alice"))
    for version in ("1.0.0", "1.1.0"):
        data = tarball(package_json("left-pad", version))
        assert alice.put(path("left-pad"), json=signed_body(
            actors, "alice", "left-pad", version, data)).status_code == 201
    url = "/npm/left-pad/-/left-pad-1.1.0.tgz"
    assert alice.get(url).status_code == 200
    assert alice.head(url).status_code == 200  # HEAD does not count
    assert alice.get(url).status_code == 200
    server.registry.downloads.flush()
    with session_scope(server.registry.engine) as session:
        counts = {v.version: v.downloads for v in session.exec(select(PackageVersion))}
    assert counts == {"1.0.0": 0, "1.1.0": 2}
    with session_scope(server.registry.engine, write=True) as session:
        row = session.exec(select(PackageVersion).where(PackageVersion.version == "1.1.0")).one()
        row.quarantined_at = server.registry.clock.now()
        row.quarantine_reason = "malware"
        session.add(row)
    for accept in (CORGI, "application/json"):
        doc = alice.get("/npm/left-pad", headers={"Accept": accept}).json()
        assert set(doc["versions"]) == {"1.0.0"} and doc["dist-tags"] == {"latest": "1.0.0"}
    assert_problem(alice.get(url), 403, "version_quarantined")
    assert_problem(alice.get("/npm/left-pad/-/left-pad-9.0.0.tgz"), 404, "version_not_found")
    assert_problem(alice.get("/npm/left-pad/-/other-1.0.0.tgz"), 404, "not_found")
    assert_problem(alice.get("/npm/nothing-here"), 404, "package_not_found")


def test_hostile_publish_bodies(actors: Actors, server: RunningServer) -> None:
    alice = actors.client(actors.user("alice"))
    before = state_counts(server)
    deep = b"[" * 100_000 + b"]" * 100_000
    assert_problem(alice.put(path("left-pad"), content=deep,
                             headers={"Content-Type": "application/json"}),
                   400, "invalid_metadata")
    manifest = package_json("left-pad", "1.0.0", description="nul \u0000 here")
    data = tarball(manifest)
    assert_problem(alice.put(path("left-pad"), json=signed_body(
        actors, "alice", "left-pad", "1.0.0", data, manifest=manifest)), 400, "nul_character")
    huge = b'{"name": "left-pad", "pad": "' + b"x" * (6 * 1024 * 1024) + b'"}'
    assert_problem(alice.put(path("left-pad"), content=huge,
                             headers={"Content-Type": "application/json"}),
                   413, "payload_too_large")
    assert state_counts(server) == before


def test_dist_tag_refusals_and_a_tag_written_elsewhere(actors: Actors,
                                                       server: RunningServer) -> None:
    """Tags that are SemVer ranges, bodies that are not a version string and versions that
    are quarantined are refused with nothing stored; a tag row written straight to the
    database (another replica) shows at the next read of the cached packument."""
    alice = actors.client(actors.user("alice"))
    for version in ("1.0.0", "1.1.0"):
        data = tarball(package_json("left-pad", version))
        assert alice.put(path("left-pad"), json=signed_body(
            actors, "alice", "left-pad", version, data)).status_code == 201
    url = "/npm/-/package/left-pad/dist-tags/"
    assert alice.get("/npm/left-pad").json()["dist-tags"] == {"latest": "1.1.0"}  # cached
    before = state_counts(server)
    for tag in ("1.x", "v2", "bad%20tag", "a" * 129):
        assert_problem(alice.put(url + tag, json="1.0.0"), 400, "invalid_metadata")
    assert_problem(alice.put(url + "beta", content=b"{}"), 400, "invalid_metadata")
    assert_problem(alice.put(url + "beta", json="9.0.0"), 404, "version_not_found")
    assert_problem(alice.put("/npm/-/package/nothing/dist-tags/beta", json="1.0.0"), 404,
                   "package_not_found")
    assert_problem(actors.client().put(url + "beta", json="1.0.0"), 401, "not_authenticated")
    assert_problem(alice.delete(url + "beta"), 404, "not_found")
    assert state_counts(server) == before
    with session_scope(server.registry.engine, write=True) as session:
        row = session.exec(select(PackageVersion).where(PackageVersion.version == "1.0.0")).one()
        row.quarantined_at = server.registry.clock.now()
        session.add(row)
    before = state_counts(server)
    assert_problem(alice.put(url + "beta", json="1.0.0"), 403, "version_quarantined")
    assert state_counts(server) == before
    with session_scope(server.registry.engine) as session:
        assert session.exec(select(NpmDistTag)).all() == []
    assert alice.put(url + "beta", json="1.1.0").status_code == 200
    # a tag written elsewhere: the trigger raises the generation, the cache re-renders
    with session_scope(server.registry.engine, write=True) as session:
        tag = session.exec(select(NpmDistTag)).one()
        tag.tag = "stable"
        session.add(tag)
    for accept in (CORGI, "application/json"):
        assert alice.get("/npm/left-pad", headers={"Accept": accept}).json()["dist-tags"] == {
            "latest": "1.1.0", "stable": "1.1.0"}
    assert alice.get("/npm/-/package/left-pad/dist-tags").json() == {
        "latest": "1.1.0", "stable": "1.1.0"}


def test_anonymous_packument_hits_are_answered_in_front_and_never_stale(
        actors: Actors, server: RunningServer) -> None:
    """The packument cache's instance in front of the whole stack (plain anonymous reads)
    shares the entries of the one inside it: an anonymous hit sees a write made straight to
    the database, and a presented token, even on a cached packument, still meets the token
    gate (401 for a bad one)."""
    alice = actors.client(actors.user("alice"))
    data = tarball(package_json("left-pad", "1.0.0"))
    assert alice.put(path("left-pad"), json=signed_body(
        actors, "alice", "left-pad", "1.0.0", data)).status_code == 201
    anonymous = actors.client()
    for accept in (CORGI, "application/json"):
        first = anonymous.get("/npm/left-pad", headers={"Accept": accept})
        again = anonymous.get("/npm/left-pad", headers={"Accept": accept})
        assert first.status_code == again.status_code == 200
        assert first.content == again.content
        assert {k: v for k, v in first.headers.items() if k != "date"} == {
            k: v for k, v in again.headers.items() if k != "date"}
        assert "deprecated" not in again.json()["versions"]["1.0.0"]
    assert_problem(anonymous.get("/npm/left-pad", headers={"Authorization": "Bearer nope"}),
                   401, "invalid_token")
    with session_scope(server.registry.engine, write=True) as session:
        row = session.exec(select(PackageVersion)).one()
        row.deprecated = "written elsewhere"
        session.add(row)
    for accept in (CORGI, "application/json"):
        doc = anonymous.get("/npm/left-pad", headers={"Accept": accept}).json()
        assert doc["versions"]["1.0.0"]["deprecated"] == "written elsewhere"
