"""npm names (validate-npm-package-name's rules for new packages), versions, file names."""

import pytest

from formats.errors import InvalidFilename, InvalidProjectName, InvalidVersion
from formats.npm import NPM, names


@pytest.mark.parametrize("name", [
    "left-pad", "@acme/widget", "a", "lodash.merge", "under_score", "x" * 214, "@a/b",
    "-dash-first", "1numeric", "@acme/a.b-c_d",
])
def test_valid_names(name):
    assert names.validate(name) == name
    assert NPM.normalize_name(name) == name


@pytest.mark.parametrize(("name", "reason"), [
    ("", "non-empty"),
    ("x" * 215, "at most 214"),
    (" left-pad", "leading or trailing spaces"),
    (".hidden", "period or an underscore"),
    ("_private", "period or an underscore"),
    ("@acme/.hidden", "period or an underscore"),
    ("Left-Pad", "lowercase"),
    ("@Acme/widget", "lowercase"),
    ("node_modules", "not a valid package name"),
    ("favicon.ico", "not a valid package name"),
    ("http", "core module"),
    ("fs", "core module"),
    ("hey!", "~'!()*"),
    ("@acme/wid(get)", "~'!()*"),
    ("a b", "URL-friendly"),
    ("caf\u00e9", "URL-friendly"),
    ("@acme/widget/extra", "URL-friendly"),
    ("a/b", "URL-friendly"),
    ("@/widget", "URL-friendly"),
    ("a%2fb", "URL-friendly"),
])
def test_invalid_names(name, reason):
    with pytest.raises(InvalidProjectName) as caught:
        names.validate(name)
    assert reason in str(caught.value)
    assert caught.value.code == "invalid_name"


def test_scoped_paths_either_case_of_2f():
    assert names.escape("@acme/widget") == "@acme%2fwidget"
    assert names.unescape("@acme%2fwidget") == names.unescape("@acme%2Fwidget") == "@acme/widget"
    assert names.unescape("left-pad") == "left-pad"


def test_tarball_and_attachment_names():
    assert names.tarball_filename("@acme/widget", "1.0.0-rc.1") == "widget-1.0.0-rc.1.tgz"
    assert names.tarball_filename("left-pad", "1.2.3") == "left-pad-1.2.3.tgz"
    assert names.attachment_name("@acme/widget", "1.0.0") == "@acme/widget-1.0.0.tgz"
    assert names.version_of_tarball("@acme/widget", "widget-1.0.0-rc.1.tgz") == "1.0.0-rc.1"
    assert names.version_of_tarball("@acme/widget", "@acme/widget-1.0.0.tgz") == "1.0.0"
    # a name that is itself "base-version"-shaped still reads the right version
    assert names.version_of_tarball("a-1", "a-1-2.0.0.tgz") == "2.0.0"
    for bad in ("widget-1.0.tgz", "other-1.0.0.tgz", "widget-1.0.0.tar.gz", "../widget-1.0.0.tgz"):
        with pytest.raises(InvalidFilename):
            names.version_of_tarball("@acme/widget", bad)


def test_versions_are_strict_semver():
    assert NPM.canonical_version("1.0.0-rc.1+build.5") == "1.0.0-rc.1+build.5"
    for bad in ("v1.0.0", "1.0", "01.0.0", " 1.0.0"):
        with pytest.raises(InvalidVersion):
            NPM.canonical_version(bad)
    keys = [NPM.version_sort_key(v) for v in ("1.0.0-alpha", "1.0.0-alpha.1", "1.0.0", "1.10.0")]
    assert keys == sorted(keys)
