from __future__ import annotations

import pytest

from advisories.errors import InvalidPurl
from advisories.purl import PackageRef, parse_purl


@pytest.mark.parametrize(
    ("purl", "expected"),
    [
        ("pkg:pypi/requests@2.31.0", PackageRef("PyPI", "requests", "2.31.0")),
        ("pkg:pypi/Django_REST", PackageRef("PyPI", "django-rest", None)),
        ("pkg:npm/%40hapi/hoek@8.5.0", PackageRef("npm", "@hapi/hoek", "8.5.0")),
        ("pkg:npm/Lodash@4.17.20?arch=x#sub", PackageRef("npm", "Lodash", "4.17.20")),
        ("pkg:generic/%40acme/tool@1.0.0-rc.1", PackageRef("Vouch", "@acme/tool", "1.0.0-rc.1")),
    ],
)
def test_parse(purl, expected):
    assert parse_purl(purl) == expected


@pytest.mark.parametrize(
    "purl", ["requests", "pkg:maven/org.x/y@1", "pkg:npm/", "pkg:pypi/a/b@1", "pkg:npm/a/b/c"]
)
def test_refused(purl):
    with pytest.raises(InvalidPurl) as err:
        parse_purl(purl)
    assert err.value.code == "invalid_purl"
