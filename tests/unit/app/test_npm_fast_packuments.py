"""Which paths the packument cache may answer."""

import pytest

from app.npm.fast_packuments import package_of


@pytest.mark.parametrize(("path", "name"), [
    ("/npm/left-pad", "left-pad"),
    ("/npm/@acme/widget", "@acme/widget"),
    ("/npm/-/ping", None),
    ("/npm/-/npm/v1/keys", None),
    ("/npm/left-pad/-/left-pad-1.0.0.tgz", None),
    ("/npm/@acme/widget/-/widget-1.0.0.tgz", None),
    ("/npm/left-pad/-rev/1-abc", None),
    ("/npm/@acme", None),
    ("/npm/a/b", None),
    ("/npm/", None),
    ("/npm//x", None),
    ("/api/v1/packages/left-pad", None),
])
def test_package_of(path, name):
    assert package_of(path) == name
