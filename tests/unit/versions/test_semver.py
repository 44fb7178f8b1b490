"""SemVer 2.0.0 parsing, precedence (the spec's own examples) and SQL sort keys."""

import itertools
import random

import pytest

from versions import InvalidVersion, Version
from versions.semver import MAX_SAFE_INTEGER

# semver.org 11.4: 1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0-alpha.beta < 1.0.0-beta < 1.0.0-beta.2
# < 1.0.0-beta.11 < 1.0.0-rc.1 < 1.0.0, and 11.2: 1.0.0 < 2.0.0 < 2.1.0 < 2.1.1.
SPEC_ORDER = [
    "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
    "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "2.0.0", "2.1.0", "2.1.1",
]
# Extra edge cases: numeric < alphanumeric, ASCII order ("-" < digits < upper < lower), a
# shorter identifier before a longer one with the same prefix, numbers compared numerically.
EDGE_ORDER = [
    "0.0.0-0", "0.0.0-9", "0.0.0-10", "0.0.0--", "0.0.0-1a", "0.0.0-A", "0.0.0-a", "0.0.0-a.0",
    "0.0.0-a.9", "0.0.0-a.10", "0.0.0-a.10.1", "0.0.0-a-", "0.0.0-aa", "0.0.0", "0.0.1",
    "0.1.0", "9.0.0", "10.0.0", f"{MAX_SAFE_INTEGER}.0.0",
]


def test_parse_fields():
    v = Version.parse("1.2.3-beta.2+build.05")
    assert (v.major, v.minor, v.patch) == (1, 2, 3)
    assert v.prerelease == ("beta", 2)
    assert v.build == ("build", "05")  # leading zeros are fine in build metadata
    assert v.is_prerelease and not Version.parse("1.2.3+x").is_prerelease
    assert str(v) == "1.2.3-beta.2+build.05"
    assert repr(v) == "Version('1.2.3-beta.2+build.05')"


@pytest.mark.parametrize("order", [SPEC_ORDER, EDGE_ORDER])
def test_precedence_and_sort_key_agree(order):
    versions = [Version.parse(v) for v in order]
    shuffled = versions[:]
    random.Random(4).shuffle(shuffled)
    assert [str(v) for v in sorted(shuffled)] == order
    assert [str(v) for v in sorted(shuffled, key=Version.sort_key)] == order
    for a, b in itertools.pairwise(versions):
        assert a < b and b > a and a <= b and b >= a and a != b
        assert a.sort_key() < b.sort_key()


def test_build_metadata_is_ignored_for_precedence_and_equality():
    a, b = Version.parse("1.0.0+a"), Version.parse("1.0.0+b")
    assert a == b and hash(a) == hash(b) and not a < b
    assert a.sort_key() == b.sort_key() == Version.parse("1.0.0").sort_key()


def test_sort_key_is_sql_friendly():
    key = Version.parse("1.2.3").sort_key()
    assert key == "0000000000000001.0000000000000002.0000000000000003~"
    longest = Version.parse("1.0.0-" + ".".join(["0"] * 125))
    assert len(longest.sort_key()) <= 450  # fits the 512-character column
    assert all(32 < ord(c) < 127 for c in longest.sort_key())


def test_constructor_validates_and_normalizes():
    assert Version(1, 0, 0, ("rc", "1")).prerelease == ("rc", 1)
    with pytest.raises(InvalidVersion):
        Version(-1, 0, 0)
    with pytest.raises(InvalidVersion):
        Version(1, 0, 0, ("01",))
    with pytest.raises(InvalidVersion):
        Version(1, 0, 0, (), ("a b",))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1.2", "three dot-separated numbers"),
        ("1.2.3.4", "three dot-separated numbers"),
        ("v1.2.3", "prefix"),
        ("=1.2.3", "prefix"),
        (" 1.2.3", "whitespace"),
        ("01.2.3", "leading zero"),
        ("1.02.3", "leading zero"),
        ("1.2.3-01", "leading zero"),
        ("1.2.3-", "non-empty"),
        ("1.2.3-a..b", "non-empty"),
        ("1.2.3+", "non-empty"),
        ("1.2.3-a_b", "non-empty"),
        ("a.b.c", "not a non-negative integer"),
        ("9007199254740992.0.0", "2**53-1"),
        ("1.0.0-9007199254740992", "2**53-1"),
        ("1." * 200 + "0", "longer than 256"),
        ("", "three dot-separated numbers"),
    ],
)
def test_invalid_versions_say_why(text, reason):
    with pytest.raises(InvalidVersion) as caught:
        Version.parse(text)
    assert caught.value.code == "invalid_version"
    assert reason in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_non_string_is_rejected():
    with pytest.raises(InvalidVersion):
        Version.parse(123)  # type: ignore[arg-type]


def test_largest_numbers_round_trip():
    top = Version.parse(f"{MAX_SAFE_INTEGER}.{MAX_SAFE_INTEGER}.{MAX_SAFE_INTEGER}")
    assert top > Version.parse(f"{MAX_SAFE_INTEGER - 1}.0.0")
    assert top.sort_key() > Version.parse(f"{MAX_SAFE_INTEGER - 1}.0.0").sort_key()
