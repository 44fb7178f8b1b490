"""PEP 440 through packaging, mapped to this library's errors; the scheme registry."""

import random

import pytest

from versions import InvalidRange, InvalidVersion, Range, Version
from versions.pep440 import parse_specifier, parse_version, satisfies, sort_key
from versions.schemes import UnknownEcosystem, get_scheme

# PEP 440 "Summary of permitted suffixes and relative ordering", plus epochs and locals.
PEP440_ORDER = [
    "0.0.dev0", "0", "0.9", "1.0.dev456", "1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12",
    "1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456", "1.0b2.post345", "1.0rc1.dev456", "1.0rc1",
    "1.0", "1.0+abc.5", "1.0+abc.7", "1.0+5", "1.0.post456.dev34", "1.0.post456", "1.0.15",
    "1.1.dev1", "10.0", "1!0.1",
]


def test_ordering_and_sort_key_match_packaging():
    versions = [parse_version(v) for v in PEP440_ORDER]
    shuffled = versions[:]
    random.Random(2).shuffle(shuffled)
    assert [str(v) for v in sorted(shuffled)] == PEP440_ORDER
    assert [str(v) for v in sorted(shuffled, key=sort_key)] == PEP440_ORDER
    assert sort_key(parse_version("1.0")) == sort_key(parse_version("1.0.0"))


@pytest.mark.parametrize(
    ("spec", "inside", "outside"),
    [
        (">=1.0,<2", ["1.0", "1.9.9", "1.4.post1"], ["2.0", "0.9", "1.5rc1"]),
        ("~=1.4.2", ["1.4.2", "1.4.9"], ["1.5", "1.4.1"]),
        ("==1.*", ["1.0", "1.99"], ["2.0"]),
        ("!=1.5", ["1.4", "1.6"], ["1.5", "1.5.0"]),
        (">=1.0a1", ["1.0a2", "2.0rc1"], ["0.9"]),  # naming a pre-release lets them in
        ("", ["0.1", "9.0"], ["2.0rc1"]),
    ],
)
def test_specifiers(spec, inside, outside):
    parsed = parse_specifier(spec)
    for v in inside:
        assert satisfies(parsed, parse_version(v)), v
    for v in outside:
        assert not satisfies(parsed, parse_version(v)), v


def test_include_prerelease():
    assert satisfies(parse_specifier(">=1.0"), parse_version("2.0rc1"), include_prerelease=True)


@pytest.mark.parametrize("text", ["1.0-foo-bar-", "one", "1..0", "1." * 200])
def test_invalid_pep440_version(text):
    with pytest.raises(InvalidVersion) as caught:
        parse_version(text)
    assert caught.value.code == "invalid_version"


@pytest.mark.parametrize("text", ["=>1.0", "foo", "~=1", ">=1.0 <2"])
def test_invalid_specifier(text):
    with pytest.raises(InvalidRange) as caught:
        parse_specifier(text)
    assert caught.value.code == "invalid_range"


def test_get_scheme():
    npm, generic, pypi = get_scheme("npm"), get_scheme("generic"), get_scheme("pypi")
    assert isinstance(npm.parse_version("1.2.3"), Version)
    assert isinstance(generic.parse_range("^1"), Range)
    assert npm.is_prerelease(npm.parse_version("1.0.0-rc.1"))
    assert pypi.is_prerelease(pypi.parse_version("1.0rc1"))
    assert str(pypi.max_satisfying(pypi.parse_range("<2"),
                                   [pypi.parse_version(v) for v in ["1.0", "1.5", "2.0"]])) == "1.5"
    assert npm.sort_key(npm.parse_version("1.0.0-rc.1")) < npm.sort_key(npm.parse_version("1.0.0"))
    with pytest.raises(InvalidVersion):
        pypi.parse_version("not a version")
    with pytest.raises(InvalidRange):
        npm.parse_range("blerg")
    with pytest.raises(UnknownEcosystem) as caught:
        get_scheme("cargo")
    assert caught.value.code == "unknown_ecosystem"
