"""npm ranges agree with node-semver, case by case, on thousands of generated ranges.

``tests/data/node-semver/vectors.json`` was produced by running node-semver itself (the npm
package ``semver``, version in the file's ``source``) over a systematic corpus of ranges and the
range/version strings of node-semver's own test fixtures; ``generate.js`` beside it says how to
regenerate it. Node is not needed to run these tests.

For every range: node-semver's verdict (valid or not), its desugared ``Range#range`` text, and
which of a fixed list of versions satisfy it, with and without ``includePrerelease``.
"""

import json
from pathlib import Path

import pytest

from versions import InvalidRange, Range, Version

DATA = json.loads((Path(__file__).parents[2] / "data" / "node-semver" / "vectors.json").read_text())
VERSIONS = [Version.parse(v) for v in DATA["versions"]]
ROWS = DATA["ranges"]


def _mask(r: Range, include_prerelease: bool) -> str:
    bits = sum(1 << i for i, v in enumerate(VERSIONS) if r.satisfies(v, include_prerelease))
    return format(bits, "x")


def test_the_vectors_come_from_node_semver():
    assert DATA["source"].startswith("node-semver 7.")
    assert len(ROWS) > 3000 and sum(1 for row in ROWS if row[1] is None) > 500


@pytest.mark.parametrize("chunk", range(0, len(ROWS), 500))
def test_ranges_agree_with_node_semver(chunk):
    disagreements = []
    for text, expected, sat, _, sat_pre in ROWS[chunk:chunk + 500]:
        try:
            r = Range.parse(text)
        except InvalidRange:
            if expected is not None:
                disagreements.append((text, "refused", expected))
            continue
        if expected is None:
            disagreements.append((text, str(r), "node-semver refuses it"))
            continue
        got = (str(r), _mask(r, False), _mask(r, True) if sat_pre is not None else None)
        if got != (expected, sat, sat_pre):
            disagreements.append((text, got, (expected, sat, sat_pre)))
    assert disagreements == []


def test_fixture_pairs_agree_with_node_semver():
    wrong = [
        (text, version, expected, expected_pre)
        for text, version, expected, expected_pre in DATA["pairs"]
        if (Range.parse(text).satisfies(Version.parse(version)),
            Range.parse(text).satisfies(Version.parse(version), include_prerelease=True))
        != (expected, expected_pre)
    ]
    assert wrong == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the cases named in issue 15
        ("1.x.0-beta", None),
        ("~10.x.0-beta", ">=10.0.0 <11.0.0-0"),
        (">0.*.1", None),
        ("1.2.x-beta", ">=1.2.0 <1.3.0-0"),
        ("1.x+build.1", ">=1.0.0 <2.0.0-0"),
        ("^9007199254740991", None),
    ],
)
def test_named_cases(text, expected):
    row = next(row for row in ROWS if row[0] == text)
    assert row[1] == expected  # what node-semver answered when the vectors were made
    if expected is None:
        with pytest.raises(InvalidRange):
            Range.parse(text)
    else:
        assert str(Range.parse(text)) == expected
