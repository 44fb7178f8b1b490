"""``npm audit``'s bulk request (a real one, captured from npm 11.19.1) and the answer built
from real npm OSV records (tests/data/osv/npm)."""

import gzip
import json
from pathlib import Path

import pytest

from advisories.models import Advisory, Affected
from advisories.ranges import is_affected
from formats.npm.audit import (
    advisory_number,
    bulk_answer,
    parse_bulk_request,
    vulnerable_versions,
)
from formats.npm.errors import InvalidPublish
from versions import Range, Version

DATA = Path(__file__).parents[3] / "data"
RECORDS = {p.stem: Advisory.from_json(json.loads(p.read_text()))
           for p in (DATA / "osv" / "npm").glob("GHSA-*.json")}


def test_real_bulk_request():
    body = (DATA / "npm" / "audit-bulk-request.gz").read_bytes()
    assert parse_bulk_request(body, content_encoding="gzip") == {
        "left-pad": ["1.1.0"], "@acme/widget": ["1.0.0"]}


@pytest.mark.parametrize(("body", "encoding"), [
    (b"not gzip", "gzip"), (gzip.compress(b"[1]", mtime=0), "gzip"), (b'{"a": "1.0.0"}', None),
    (b'{"a": [1]}', None), (b"{", None),
])
def test_bad_bulk_requests(body, encoding):
    with pytest.raises(InvalidPublish):
        parse_bulk_request(body, content_encoding=encoding)


def test_a_gzip_bomb_is_refused():
    with pytest.raises(InvalidPublish, match="larger than"):
        parse_bulk_request(gzip.compress(b" " * (2 << 20)), content_encoding="gzip",
                           max_bytes=1 << 20)


def affected(events, versions=None):
    return Affected.model_validate({
        "package": {"ecosystem": "npm", "name": "x"},
        "ranges": [{"type": "SEMVER", "events": events}], "versions": versions})


@pytest.mark.parametrize(("events", "versions", "expected"), [
    ([{"introduced": "0"}, {"fixed": "1.2.3"}], None, "<1.2.3"),
    ([{"introduced": "1.0.0"}, {"fixed": "1.2.3"}, {"introduced": "2.0.0"},
      {"last_affected": "2.1.0"}], None, ">=1.0.0 <1.2.3 || >=2.0.0 <=2.1.0"),
    ([{"introduced": "0"}], None, "*"),
    ([{"introduced": "1.5.0"}], ["0.9.0"], ">=1.5.0 || 0.9.0"),
    # not SemVer: advisories.ranges skips the range, so npm must not see it either
    ([{"introduced": "0"}, {"fixed": "1.1"}], ["1.0"], "<0.0.0-0"),
])
def test_vulnerable_versions(events, versions, expected):
    assert vulnerable_versions(affected(events, versions)) == expected


def test_vulnerable_versions_is_a_range_npm_reads_and_agrees_with_the_record():
    for record in RECORDS.values():
        for entry in record.affected or []:
            text = vulnerable_versions(entry)
            rng = Range.parse(text)  # node-semver's grammar (versions agrees with it)
            for probe in ("0.0.1", "1.0.0", "2.3.4", "4.17.20", "99.0.0"):
                assert rng.satisfies(Version.parse(probe)) == is_affected(entry, probe, "npm"), (
                    record.id, text, probe)


def test_bulk_answer_from_real_records():
    record = RECORDS["GHSA-322m-p39j-r5m2"]  # npm-script-demo, malware: every version
    name = record.affected[0].package.name

    def advisories_for(n):
        return [record] if n == name else []

    answer = bulk_answer({name: ["0.0.1", "0.0.1"], "left-pad": ["1.0.0"]}, advisories_for,
                         lambda r: f"http://h/advisories/{r.id}")
    assert list(answer) == [name]
    (item,) = answer[name]
    assert item["id"] == advisory_number(record.id) and isinstance(item["id"], int)
    assert item["url"] == "http://h/advisories/GHSA-322m-p39j-r5m2"
    assert item["title"] == record.summary
    assert item["severity"] == "moderate"  # database_specific MODERATE
    assert item["vulnerable_versions"] == "*"
    assert item["cwe"] == ["CWE-506"]


def test_unaffected_versions_get_no_advisory():
    fixed = Advisory.from_json({
        "id": "GHSA-aaaa-bbbb-cccc", "modified": "2026-01-01T00:00:00Z", "summary": "bad",
        "severity": [{"type": "CVSS_V3",
                      "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        "affected": [{"package": {"ecosystem": "npm", "name": "left-pad"},
                      "ranges": [{"type": "SEMVER",
                                  "events": [{"introduced": "0"}, {"fixed": "1.1.0"}]}]}]})
    assert bulk_answer({"left-pad": ["1.1.0"]}, lambda n: [fixed], lambda r: "u") == {}
    (item,) = bulk_answer({"left-pad": ["1.1.0", "1.0.0"]}, lambda n: [fixed],
                          lambda r: "u")["left-pad"]
    assert item["severity"] == "critical" and item["vulnerable_versions"] == "<1.1.0"
    assert item["cvss"] == {"score": 9.8,
                            "vectorString": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}
