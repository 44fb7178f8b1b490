"""Packuments: the full and the abbreviated document, and content negotiation."""

from datetime import UTC, datetime

import pytest

from formats.npm.packument import (
    ABBREVIATED_MEDIA_TYPE,
    VersionEntry,
    abbreviated_packument,
    full_packument,
    npm_time,
    wants_abbreviated,
)

T0 = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
T1 = datetime(2026, 1, 3, tzinfo=UTC)
DIST = {"integrity": "sha512-abc", "shasum": "0" * 40,
        "signatures": [{"keyid": "SHA256:k", "sig": "MEU"}]}


def entry(version, deprecated=None, **extra):
    manifest = {"name": "@acme/widget", "version": version, "_id": f"@acme/widget@{version}",
                "_npmUser": {"name": "alice"}, "description": f"widget {version}",
                "dependencies": {"left-pad": "^1.0.0"}, "scripts": {"test": "x"},
                "dist": DIST, **extra}
    return VersionEntry(manifest, f"http://h/@acme/widget/-/widget-{version}.tgz",
                        T0 if version == "1.0.0" else T1, deprecated)


VERSIONS = [entry("1.0.0", deprecated="use 2"), entry("2.0.0", scripts={"postinstall": "x"})]


def test_full_document():
    doc = full_packument("@acme/widget", VERSIONS, {"latest": "2.0.0"}, created=T0,
                         modified=T1, rev="2-abc", maintainers=["alice"])
    assert doc["_id"] == doc["name"] == "@acme/widget" and doc["_rev"] == "2-abc"
    assert doc["dist-tags"] == {"latest": "2.0.0"}
    assert doc["time"] == {"created": "2026-01-02T03:04:05.678Z",
                           "modified": "2026-01-03T00:00:00.000Z",
                           "1.0.0": "2026-01-02T03:04:05.678Z",
                           "2.0.0": "2026-01-03T00:00:00.000Z"}
    assert doc["description"] == "widget 2.0.0"  # the latest version's
    assert doc["maintainers"] == [{"name": "alice"}]
    v1, v2 = doc["versions"]["1.0.0"], doc["versions"]["2.0.0"]
    assert v1["deprecated"] == "use 2" and "deprecated" not in v2
    assert v1["dist"] == {**DIST, "tarball": "http://h/@acme/widget/-/widget-1.0.0.tgz"}
    assert v2["hasInstallScript"] is True and "hasInstallScript" not in v1
    assert v1["_npmUser"] == {"name": "alice"}


def test_abbreviated_document_keeps_only_install_fields():
    doc = abbreviated_packument("@acme/widget", VERSIONS, {"latest": "2.0.0"}, modified=T1)
    assert set(doc) == {"name", "modified", "dist-tags", "versions"}
    assert doc["modified"] == "2026-01-03T00:00:00.000Z"
    v1 = doc["versions"]["1.0.0"]
    assert set(v1) == {"name", "version", "dependencies", "dist", "deprecated"}
    assert v1["dist"]["tarball"].endswith("widget-1.0.0.tgz")
    assert doc["versions"]["2.0.0"]["hasInstallScript"] is True


def test_a_deprecation_stored_in_the_manifest_is_not_served_once_lifted():
    lifted = VersionEntry({**entry("1.0.0").manifest, "deprecated": "old"}, "u", T0, None)
    assert "deprecated" not in lifted.document()


@pytest.mark.parametrize(("accept", "expected"), [
    # what npm 11 / pacote send for installs
    (f"{ABBREVIATED_MEDIA_TYPE}; q=1.0, application/json; q=0.8, */*", True),
    (ABBREVIATED_MEDIA_TYPE, True),
    ("application/json", False),
    ("", False),
    ("*/*", False),
    (f"application/json, {ABBREVIATED_MEDIA_TYPE}; q=0.5", False),
    (f"{ABBREVIATED_MEDIA_TYPE}; q=0", False),
])
def test_negotiation(accept, expected):
    assert wants_abbreviated(accept) is expected


def test_npm_time_of_naive_and_aware():
    assert npm_time(datetime(2026, 1, 1)) == "2026-01-01T00:00:00.000Z"
    assert npm_time(T0) == "2026-01-02T03:04:05.678Z"
