"""The body of a real ``npm publish`` (captured from npm 11.19.1, tests/data/npm), parsed and
checked; every tampering the registry must notice is refused with its code."""

import base64
import copy
import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from formats.errors import InvalidDistribution, InvalidProjectName, MetadataMismatch
from formats.npm.errors import IntegrityMismatch, InvalidPublish
from formats.npm.integrity import Digests, sha512_hex_of
from formats.npm.publish import check_tag, parse_publish, read_package_json

DATA = Path(__file__).parents[3] / "data" / "npm"
BODY = json.loads((DATA / "publish-body.json").read_text())
LIMIT = 1 << 20


def body(**changes):
    doc = copy.deepcopy(BODY)
    for key, value in changes.items():
        doc[key] = value
    return doc


def tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path, content in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def with_tarball(data: bytes, doc=None):
    """The real body with another tarball attached (digests and length made to agree)."""
    doc = copy.deepcopy(doc or BODY)
    attachment = doc["_attachments"]["@acme/widget-1.0.0.tgz"]
    attachment["data"] = base64.b64encode(data).decode()
    attachment["length"] = len(data)
    digests = Digests.of(data)
    doc["versions"]["1.0.0"]["dist"].update(integrity=digests.integrity, shasum=digests.shasum)
    return doc


def test_real_npm_publish_body_parses():
    published = parse_publish(json.dumps(BODY).encode(), "@acme/widget", max_tarball_bytes=LIMIT)
    assert (published.name, published.version, published.access) == (
        "@acme/widget", "1.0.0", "public")
    assert published.dist_tags == {"latest": "1.0.0"}
    assert published.digests.integrity == BODY["versions"]["1.0.0"]["dist"]["integrity"]
    assert published.digests.shasum == BODY["versions"]["1.0.0"]["dist"]["shasum"]
    assert published.digests.size == 390 == len(published.tarball)
    # the registry writes dist, _id, _npmUser itself and keeps no readme per version
    assert "dist" not in published.manifest and "readme" not in published.manifest
    assert not any(k.startswith("_") for k in published.manifest)
    assert published.manifest["dependencies"] == {"left-pad": "^1.0.0"}
    assert published.manifest["scripts"] == {"postinstall": "node -e 1"}
    assert published.package_json["name"] == "@acme/widget"
    assert published.provenance is None and published.gpg_signature is None


def test_integrity_parsing():
    integrity = BODY["versions"]["1.0.0"]["dist"]["integrity"]
    raw = base64.b64decode(BODY["_attachments"]["@acme/widget-1.0.0.tgz"]["data"])
    assert sha512_hex_of(integrity) == hashlib.sha512(raw).hexdigest()
    for bad in ("sha1-abc", "sha512-!!", "sha512-" + base64.b64encode(b"x" * 32).decode(),
                f"{integrity} sha512-{integrity[7:]}"):
        with pytest.raises(IntegrityMismatch):
            sha512_hex_of(bad)


def _tamper(path, value):
    doc = copy.deepcopy(BODY)
    target = doc
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return doc


DIST = ("versions", "1.0.0", "dist")
ATTACHMENT = ("_attachments", "@acme/widget-1.0.0.tgz")


@pytest.mark.parametrize(("path", "value", "error", "words"), [
    ((*DIST, "integrity"), "sha512-" + base64.b64encode(b"\0" * 64).decode(),
     IntegrityMismatch, "dist.integrity does not match"),
    ((*DIST, "integrity"), KeyError, IntegrityMismatch, "dist.integrity is missing"),
    ((*DIST, "shasum"), "0" * 40, IntegrityMismatch, "dist.shasum does not match"),
    ((*DIST, "shasum"), KeyError, IntegrityMismatch, "dist.shasum must be"),
    (DIST, KeyError, IntegrityMismatch, "dist with integrity"),
    ((*ATTACHMENT, "length"), 391, IntegrityMismatch, "length is 391"),
    ((*ATTACHMENT, "data"), "not base64!", InvalidPublish, "not base64"),
    (("_attachments",), {}, InvalidPublish, "must hold"),
    (("_attachments",), KeyError, InvalidPublish, "nothing to publish"),
    (("_attachments", "evil.tgz"), {"data": ""}, InvalidPublish, "nothing else"),
    (("versions", "1.0.1"), {"name": "@acme/widget", "version": "1.0.1"}, InvalidPublish,
     "exactly one version"),
    (("versions",), {}, InvalidPublish, "exactly one version"),
    (("versions", "1.0.0", "name"), "@acme/other", InvalidPublish, "name and version"),
    (("name",), "@acme/other", InvalidPublish, "URL names"),
    (("name",), "@ACME/widget", InvalidProjectName, "lowercase"),
    (("_id",), "@acme/other", InvalidPublish, "_id"),
    (("dist-tags",), {"latest": "2.0.0"}, InvalidPublish, "published version"),
    (("dist-tags",), {"1.x": "1.0.0"}, InvalidPublish, "SemVer range"),
    (("access",), "everyone", InvalidPublish, "access"),
    (("versions", "1.0.0", "dependencies"), {"left-pad": "^2.0.0"}, MetadataMismatch,
     "dependencies in the body differ"),
])
def test_tampered_bodies_are_refused(path, value, error, words):
    with pytest.raises(error) as caught:
        parse_publish(_tamper(path, value), "@acme/widget", max_tarball_bytes=LIMIT)
    assert words in str(caught.value)


def test_error_codes():
    assert IntegrityMismatch.code == "digest_mismatch"
    assert InvalidPublish.code == "invalid_metadata"
    assert MetadataMismatch.code == "metadata_mismatch"
    assert InvalidDistribution.code == "invalid_distribution"


def test_a_version_in_another_spelling_is_refused():
    doc = copy.deepcopy(BODY)
    doc["versions"] = {"v1.0.0": doc["versions"]["1.0.0"]}
    with pytest.raises(Exception, match="SemVer"):
        parse_publish(doc, "@acme/widget", max_tarball_bytes=LIMIT)


def test_oversize_tarball_is_refused_before_decoding():
    with pytest.raises(InvalidPublish, match="larger than 100 bytes"):
        parse_publish(BODY, "@acme/widget", max_tarball_bytes=100)


def test_package_json_inside_must_agree():
    inner = {"name": "@acme/widget", "version": "1.0.1", "dependencies": {"left-pad": "^1.0.0"},
             "optionalDependencies": {"is-odd": "~3.0.0"}}
    doc = with_tarball(tarball({"package/package.json": json.dumps(inner).encode()}))
    with pytest.raises(MetadataMismatch, match=r"version 1\.0\.1, not 1\.0\.0"):
        parse_publish(doc, "@acme/widget", max_tarball_bytes=LIMIT)
    inner.update(version="1.0.0", name="@acme/other")
    doc = with_tarball(tarball({"package/package.json": json.dumps(inner).encode()}))
    with pytest.raises(MetadataMismatch, match="names '@acme/other'"):
        parse_publish(doc, "@acme/widget", max_tarball_bytes=LIMIT)
    inner.update(name="@acme/widget")
    doc = with_tarball(tarball({"other/package.json": json.dumps(inner).encode(),
                                "other/index.js": b"1"}))
    assert parse_publish(doc, "@acme/widget", max_tarball_bytes=LIMIT).version == "1.0.0"


@pytest.mark.parametrize(("data", "words"), [
    (b"not gzip at all", "cannot be read"),
    (gzip.compress(b"not a tar"), "cannot be read"),
    (tarball({"package/index.js": b"1"}), "no package/package.json"),
    (tarball({"package/package.json": b"[1]"}), "not a JSON object"),
    (tarball({"package/package.json": b"{"}), "cannot be read"),
    (tarball({"package/sub/package.json": b"{}"}), "no package/package.json"),
], ids=["not-gzip", "gzip-not-tar", "no-package-json", "json-array", "json-broken",
        "package-json-too-deep"])  # fixed ids: gzip bytes carry a time, and xdist workers differ
def test_unreadable_tarballs(data, words):
    with pytest.raises(InvalidDistribution, match=words):
        read_package_json(data)


def test_a_gzip_bomb_is_read_only_up_to_the_cap():
    bomb = tarball({"package/big.bin": b"\0" * (4 << 20), "package/package.json": b"{}"})
    assert len(bomb) < 10_000
    with pytest.raises(InvalidDistribution, match="unpacks to more"):
        read_package_json(bomb, max_unpacked=1 << 20)
    assert read_package_json(bomb) == {}


def test_signature_attachments_travel_with_the_tarball():
    doc = copy.deepcopy(BODY)
    bundle = json.dumps({"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"})
    doc["_attachments"]["@acme/widget-1.0.0.sigstore"] = {
        "content_type": "application/vnd.dev.sigstore.bundle.v0.3+json", "data": bundle,
        "length": len(bundle)}
    asc = b"-----BEGIN PGP SIGNATURE-----\n\nxx\n-----END PGP SIGNATURE-----\n"
    doc["_attachments"]["@acme/widget-1.0.0.tgz.asc"] = {
        "content_type": "application/pgp-signature", "data": base64.b64encode(asc).decode(),
        "length": len(asc)}
    published = parse_publish(doc, "@acme/widget", max_tarball_bytes=LIMIT)
    assert published.provenance == bundle.encode()
    assert published.gpg_signature == asc


@pytest.mark.parametrize("tag", ["latest", "next", "beta-2", "v2_lts"])
def test_good_tags(tag):
    assert check_tag(tag) == tag


@pytest.mark.parametrize("tag", ["", "1.0.0", "^1", "x", "a b", "a/b", "t" * 129, "\u00e9"])
def test_bad_tags(tag):
    with pytest.raises(InvalidPublish):
        check_tag(tag)
