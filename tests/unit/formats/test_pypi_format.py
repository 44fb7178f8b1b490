"""The pure Python format: names, filenames, core metadata, Simple API documents."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from formats.errors import (
    InvalidDistribution,
    InvalidFilename,
    InvalidProjectName,
    MetadataMismatch,
)
from formats.pypi import index
from formats.pypi.filenames import parse_filename
from formats.pypi.metadata import check_consistency, parse_core_metadata, read_core_metadata
from formats.pypi.names import canonical_version, normalize
from tests.support.pydists import build_sdist, build_wheel


@pytest.mark.parametrize(("name", "normal"), [("Foo_Bar", "foo-bar"), ("foo.bar", "foo-bar"),
                                              ("FOO--_.bar", "foo-bar"), ("a", "a")])
def test_names_are_pep503_normalised(name: str, normal: str) -> None:
    assert normalize(name) == normal


@pytest.mark.parametrize("name", ["", "-foo", "foo-", "foo bar", "../x", "a" * 215, "fö"])
def test_invalid_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidProjectName):
        normalize(name)


def test_versions_are_canonical() -> None:
    assert canonical_version("1.0.0-RC1") == "1.0.0rc1"
    assert canonical_version("v2") == "2"


@pytest.mark.parametrize("filename", ["foo-1.0.zip", "foo-1.0.egg", "foo-1.0.exe",
                                      "../foo-1.0.tar.gz", "foo-1.0-py3-none-any.whl/x",
                                      "foo-x.y.z-py3-none-any.whl", "foo.tar.gz"])
def test_bad_filenames_are_refused(filename: str) -> None:
    with pytest.raises(InvalidFilename):
        parse_filename(filename)


def test_wheel_and_sdist_metadata_are_read(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "Foo.Bar", "1.0", requires_python=">=3.9")
    dist = parse_filename(wheel.name)
    meta = parse_core_metadata(read_core_metadata(wheel, dist))
    assert (meta.name, meta.version, meta.requires_python) == ("Foo.Bar", "1.0", ">=3.9")
    check_consistency(dist, meta, form_name="foo_bar", form_version="1.0.0",
                      form_filetype="bdist_wheel")
    sdist = build_sdist(tmp_path, "Foo.Bar", "1.0")
    sdist_meta = parse_core_metadata(read_core_metadata(sdist, parse_filename(sdist.name)))
    assert sdist_meta.name == "Foo.Bar"


def test_disagreements_are_refused(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path, "foo", "1.0", metadata_name="bar")
    dist = parse_filename(wheel.name)
    with pytest.raises(MetadataMismatch):
        check_consistency(dist, parse_core_metadata(read_core_metadata(wheel, dist)),
                          form_name=None, form_version=None)
    good = build_wheel(tmp_path / "..", "foo", "2.0")
    dist = parse_filename(good.name)
    meta = parse_core_metadata(read_core_metadata(good, dist))
    with pytest.raises(MetadataMismatch):
        check_consistency(dist, meta, form_name="other", form_version=None)
    with pytest.raises(MetadataMismatch):
        check_consistency(dist, meta, form_name=None, form_version="2.1")
    with pytest.raises(MetadataMismatch):
        check_consistency(dist, meta, form_name=None, form_version=None, form_filetype="sdist")


def test_garbage_and_missing_metadata_are_refused(tmp_path: Path) -> None:
    garbage = tmp_path / "foo-1.0-py3-none-any.whl"
    garbage.write_bytes(b"not a zip")
    with pytest.raises(InvalidDistribution):
        read_core_metadata(garbage, parse_filename(garbage.name))
    empty = tmp_path / "bar-1.0-py3-none-any.whl"
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("bar/__init__.py", "")
    with pytest.raises(InvalidDistribution):
        read_core_metadata(empty, parse_filename(empty.name))


@pytest.mark.parametrize(("accept", "media"), [
    (None, index.TEXT_HTML), ("*/*", index.TEXT_HTML), ("application/json", index.TEXT_HTML),
    ("application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
     "text/html; q=0.01", index.JSON),
    ("application/vnd.pypi.simple.latest+json", index.JSON),
    ("application/vnd.pypi.simple.v1+html", index.HTML),
    ("text/html, application/vnd.pypi.simple.v1+json;q=0.5", index.TEXT_HTML),
])
def test_negotiation(accept: str | None, media: str) -> None:
    assert index.negotiate(accept) == media


def _page(status: str = "active") -> index.ProjectPage:
    at = datetime(2026, 8, 1, 12, 0, 0, 123456, tzinfo=UTC)
    files = (index.IndexFile("foo-1.0-py3-none-any.whl", "/f/foo-1.0-py3-none-any.whl",
                             "ab" * 32, 10, at, requires_python=">=3.8", yanked="bad <b>",
                             core_metadata_sha256="cd" * 32, provenance_url="/p"),)
    return index.ProjectPage("foo", ("1.0",), files, status=status)


def test_json_page_shape() -> None:
    doc = json.loads(index.project_page(_page(), index.JSON))
    assert doc["meta"] == {"api-version": "1.4"}
    assert doc["project-status"] == {"status": "active"}
    assert doc["files"] == [{
        "filename": "foo-1.0-py3-none-any.whl", "url": "/f/foo-1.0-py3-none-any.whl",
        "hashes": {"sha256": "ab" * 32}, "requires-python": ">=3.8", "size": 10,
        "upload-time": "2026-08-01T12:00:00.123456Z", "yanked": "bad <b>",
        "core-metadata": {"sha256": "cd" * 32}, "data-dist-info-metadata": {"sha256": "cd" * 32},
        "provenance": "/p"}]


def test_html_page_escapes_and_carries_every_attribute() -> None:
    html = index.project_page(_page(), index.TEXT_HTML).decode()
    assert ('<a href="/f/foo-1.0-py3-none-any.whl#sha256=' + "ab" * 32 + '" '
            'data-requires-python="&gt;=3.8" data-yanked="bad &lt;b&gt;" '
            f'data-dist-info-metadata="sha256={"cd" * 32}" '
            f'data-core-metadata="sha256={"cd" * 32}" data-provenance="/p">') in html


def test_quarantined_project_offers_no_files() -> None:
    doc = json.loads(index.project_page(_page("quarantined"), index.JSON))
    assert doc["files"] == [] and doc["project-status"]["status"] == "quarantined"
    assert "<a " not in index.project_page(_page("quarantined"), index.HTML).decode()
