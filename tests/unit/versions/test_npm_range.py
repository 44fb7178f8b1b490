"""npm ranges against node-semver's documented behaviour.

The tables are the examples of node-semver's README (npm/node-semver, "Ranges" and "Advanced
Range Syntax"). The README writes upper bounds as ``<2.0.0``; node-semver 7 prints them as
``<2.0.0-0`` (so pre-releases of the next version stay out), and that is what ``str(Range)``
matches here.
"""

import pytest

from versions import InvalidRange, Range, Version

DESUGAR = [
    # Hyphen ranges
    ("1.2.3 - 2.3.4", ">=1.2.3 <=2.3.4"),
    ("1.2 - 2.3.4", ">=1.2.0 <=2.3.4"),
    ("1.2.3 - 2.3", ">=1.2.3 <2.4.0-0"),
    ("1.2.3 - 2", ">=1.2.3 <3.0.0-0"),
    # X-ranges and partial versions
    ("*", ""),
    ("", ""),
    ("1.x", ">=1.0.0 <2.0.0-0"),
    ("1.2.x", ">=1.2.0 <1.3.0-0"),
    ("1.2.*", ">=1.2.0 <1.3.0-0"),
    ("1.X", ">=1.0.0 <2.0.0-0"),
    ("1", ">=1.0.0 <2.0.0-0"),
    ("1.2", ">=1.2.0 <1.3.0-0"),
    # Tilde
    ("~1.2.3", ">=1.2.3 <1.3.0-0"),
    ("~1.2", ">=1.2.0 <1.3.0-0"),
    ("~1", ">=1.0.0 <2.0.0-0"),
    ("~0.2.3", ">=0.2.3 <0.3.0-0"),
    ("~0.2", ">=0.2.0 <0.3.0-0"),
    ("~0", "<1.0.0-0"),  # ">=0.0.0" is dropped: it matches everything
    ("~1.2.3-beta.2", ">=1.2.3-beta.2 <1.3.0-0"),
    ("~>1.2", ">=1.2.0 <1.3.0-0"),
    # Caret
    ("^1.2.3", ">=1.2.3 <2.0.0-0"),
    ("^0.2.3", ">=0.2.3 <0.3.0-0"),
    ("^0.0.3", ">=0.0.3 <0.0.4-0"),
    ("^1.2.3-beta.2", ">=1.2.3-beta.2 <2.0.0-0"),
    ("^0.0.3-beta", ">=0.0.3-beta <0.0.4-0"),
    ("^1.2.x", ">=1.2.0 <2.0.0-0"),
    ("^0.0.x", "<0.1.0-0"),
    ("^0.0", "<0.1.0-0"),
    ("^1.x", ">=1.0.0 <2.0.0-0"),
    ("^0.x", "<1.0.0-0"),
    # Primitive comparators, whitespace after operators, unions
    (">=1.2.7", ">=1.2.7"),
    (">= 1.2.7 < 1.3.0", ">=1.2.7 <1.3.0"),
    ("=1.2.3", "1.2.3"),
    ("v1.2.3", "1.2.3"),
    (">1", ">=2.0.0"),
    ("<=1.2", "<1.3.0-0"),
    ("<1.2", "<1.2.0-0"),
    ("1.2.7 || >=1.2.9 <2.0.0", "1.2.7||>=1.2.9 <2.0.0"),
    ("1.x || *", ""),
    (">*", "<0.0.0-0"),  # node-semver: nothing at all
]


@pytest.mark.parametrize(("text", "expected"), DESUGAR)
def test_desugars_like_node_semver(text, expected):
    assert str(Range.parse(text)) == expected


SATISFIES = [
    # README prose examples
    (">=1.2.7", ["1.2.7", "1.2.8", "2.5.3", "1.3.9"], ["1.2.6", "1.1.0"]),
    (">=1.2.7 <1.3.0", ["1.2.7", "1.2.8", "1.2.99"], ["1.2.6", "1.3.0", "1.1.0"]),
    ("1.2.7 || >=1.2.9 <2.0.0", ["1.2.7", "1.2.9", "1.4.6"], ["1.2.8", "2.0.0"]),
    ("1.x || >=2.5.0 || 5.0.0 - 7.2.3", ["1.2.3", "2.5.0", "8.0.0"], ["2.4.9", "0.9.0"]),
    ("1.2.3", ["1.2.3", "1.2.3+build2012"], ["1.2.4", "1.2.3-beta"]),
    # The pre-release rule
    (">1.2.3-alpha.3", ["1.2.3-alpha.7", "3.4.5"], ["3.4.5-alpha.9", "1.2.3-alpha.2"]),
    ("~1.2.3-beta.2", ["1.2.3-beta.4", "1.2.3", "1.2.9"], ["1.2.4-beta.2", "1.3.0"]),
    ("^1.2.3-beta.2", ["1.2.3-beta.4", "1.9.0"], ["1.2.4-beta.2", "2.0.0"]),
    ("^0.0.3-beta", ["0.0.3-pr.2", "0.0.3"], ["0.0.4", "0.0.3-alpha"]),
    ("<1.2.3", ["1.2.2"], ["1.2.3-beta"]),
    (">=1.2.3", ["2.3.0"], ["1.2.3-beta", "2.3.0-beta"]),
    ("*", ["0.0.0", "99.0.0"], ["1.0.0-rc.1"]),
    # Non-contiguous ranges (README "gtr/ltr" note)
    ("1.2 <1.2.9 || >2.0.0", ["1.2.8", "2.0.1"], ["1.2.10", "2.0.0"]),
    # Tilde / caret / x-range boundaries
    ("~1.2.3", ["1.2.3", "1.2.99"], ["1.3.0", "1.2.2", "1.3.0-0"]),
    ("^0.2.3", ["0.2.3", "0.2.9"], ["0.3.0", "0.2.2"]),
    ("^0.0.3", ["0.0.3"], ["0.0.4", "0.0.2"]),
    ("^0.x", ["0.0.0", "0.9.9"], ["1.0.0"]),
    ("^0.0.x", ["0.0.0", "0.0.9"], ["0.1.0"]),
    ("1.2.3 - 2.3", ["1.2.3", "2.3.99"], ["2.4.0", "2.4.0-alpha", "1.2.2"]),
    ("1.2.3 - 2.3.4", ["2.3.4"], ["2.3.5"]),
    ("1.2.3 2.x", [], ["1.2.3", "2.0.0"]),  # an intersection that is empty
    (">=1.0.0 <1.0.1 || 1.0.2", ["1.0.0", "1.0.2"], ["1.0.1"]),
]


@pytest.mark.parametrize(("text", "inside", "outside"), SATISFIES)
def test_satisfies_table(text, inside, outside):
    r = Range.parse(text)
    for v in inside:
        assert r.satisfies(Version.parse(v)), f"{v} should satisfy {text}"
    for v in outside:
        assert not r.satisfies(Version.parse(v)), f"{v} should not satisfy {text}"


@pytest.mark.parametrize(
    ("text", "version", "expected"),
    [
        ("2.x", "2.1.0-pre.0", True),
        ("2.x", "3.0.0-pre.0", False),
        ("*", "1.0.0-rc1", True),
        ("^1.0.0", "1.1.0-rc1", True),
        ("^1.0.0", "1.0.0-rc1", False),  # caret keeps its plain lower bound
        ("^1.0.0", "2.0.0-rc1", False),  # -0 upper bounds exclude next-major pre-releases
        ("1.0.0 - 2.0.0", "2.0.0-rc", True),  # the upper bound becomes <2.0.1-0
        ("1.0.0 - 2.0.0", "2.0.1-rc", False),
    ],
)
def test_include_prerelease(text, version, expected):
    assert Range.parse(text).satisfies(Version.parse(version), include_prerelease=True) is expected


def test_max_satisfying():
    versions = [Version.parse(v) for v in ["1.2.3", "1.2.4", "1.3.0-beta", "2.0.0", "0.9.0"]]
    assert str(Range.parse("~1.2").max_satisfying(versions)) == "1.2.4"
    assert str(Range.parse("^1.2.3").max_satisfying(versions)) == "1.2.4"
    assert str(Range.parse("^1.2.3").max_satisfying(versions, include_prerelease=True)) == (
        "1.3.0-beta")
    assert Range.parse("^3").max_satisfying(versions) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("blerg", "cannot read 'blerg'"),
        (">=1.2.3 <", "operator '<' is not followed by a version"),
        ("1.2.3 - ", "cannot read '-'"),
        ("^1.2.3-", "cannot read '1.2.3-'"),
        (">01.02.03", "cannot read '01.02.03'"),
        ("~1.2.3beta", "cannot read '1.2.3beta'"),
        ("1.2.3.4", "cannot read '1.2.3.4'"),
        ("1 ||| 2", "cannot read '|'"),
        (">>1", "cannot read '>1'"),
        ("1.x-beta", "cannot read"),
        ("^9007199254740992", "larger than 2**53-1"),
        ("1" * 1025, "longer than 1024"),
    ],
)
def test_invalid_ranges_raise_instead_of_matching_nothing(text, reason):
    with pytest.raises(InvalidRange) as caught:
        Range.parse(text)
    assert caught.value.code == "invalid_range"
    assert reason in str(caught.value)


def test_ranges_are_hashable_values():
    assert Range.parse("^1.2.3") == Range.parse("^1.2.3")
    assert len({Range.parse("^1.2.3"), Range.parse("^1.2.3")}) == 1
    assert Range.parse("^1.2.3").raw == "^1.2.3"


MASK_VERSIONS = sorted(Version.parse(v) for v in [
    "0.0.0", "0.0.3-beta", "0.0.3", "0.2.3", "1.0.0-rc1", "1.0.0", "1.2.3-alpha.3", "1.2.3-beta.4",
    "1.2.3", "1.2.7", "1.2.9", "1.3.0-beta", "1.3.0", "2.0.0-0", "2.0.0", "2.3.4", "2.4.0", "3.4.5",
])


@pytest.mark.parametrize("text", [t for t, _ in DESUGAR] + [t for t, _, _ in SATISFIES])
def test_satisfying_mask_agrees_with_satisfies(text):
    r = Range.parse(text)
    expected = sum(1 << i for i, v in enumerate(MASK_VERSIONS) if r.satisfies(v))
    assert r.satisfying_mask(MASK_VERSIONS) == expected
