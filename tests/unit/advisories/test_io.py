from __future__ import annotations

import json
import shutil

import pytest

from advisories.errors import InvalidAdvisoryId
from advisories.io import dumps_array, export_directory, import_path, import_records
from advisories.models import Advisory

from .conftest import DATA, corpus_files, load_json


def _tree(tmp_path):
    root = tmp_path / "dump"
    (root / "npm").mkdir(parents=True)
    for path in corpus_files("npm")[:5]:
        shutil.copy(path, root / "npm" / path.name)
    shutil.copy(DATA / "invalid" / "pypi" / "PYSEC-2017-27.json", root / "PYSEC-2017-27.json")
    (root / "broken.json").write_text("{not json", "utf-8")
    (root / ".tmp-leftover.json").write_text("{half", "utf-8")  # hidden: skipped
    return root


def test_import_reports_every_file_and_keeps_going(tmp_path):
    outcomes = list(import_path(_tree(tmp_path), {}))
    statuses = [o.status for o in outcomes]
    assert statuses.count("created") == 5
    invalid = {o.source.rsplit("/", 1)[-1]: o for o in outcomes if o.status == "invalid"}
    assert set(invalid) == {"PYSEC-2017-27.json", "broken.json"}
    assert invalid["PYSEC-2017-27.json"].advisory_id == "PYSEC-2017-27"
    assert invalid["PYSEC-2017-27.json"].reasons[0].startswith("affected/0/ranges/0/events/1:")
    assert invalid["broken.json"].reasons[0].startswith("unreadable JSON")


def test_import_is_idempotent_by_id_and_modified(tmp_path):
    root = _tree(tmp_path)
    first = [o for o in import_path(root, {}) if o.record is not None]
    stored = {o.advisory_id: o.record.modified for o in first}
    again = [o.status for o in import_path(root, stored) if o.status != "invalid"]
    assert again == ["unchanged"] * 5

    # a newer copy of one record updates; an older one leaves it unchanged
    target = root / "npm" / corpus_files("npm")[0].name
    data = load_json(target)
    data["modified"] = "2099-01-01T00:00:00Z"
    target.write_text(json.dumps(data), "utf-8")
    statuses = {o.advisory_id: o.status for o in import_path(root, stored) if o.record}
    assert statuses[data["id"]] == "updated"
    older = {**stored, data["id"]: "2100-01-01T00:00:00Z"}
    assert {o.advisory_id: o.status for o in import_path(root, older) if o.record}[
        data["id"]
    ] == "unchanged"


def test_same_id_twice_in_one_import_is_compared_with_the_first(minimal):
    newer = {**minimal, "modified": "2027-01-01T00:00:00Z"}
    outcomes = list(import_records([minimal, minimal, newer], {}))
    assert [o.status for o in outcomes] == ["created", "unchanged", "updated"]


def test_export_directory_and_array_round_trip(tmp_path):
    records = [Advisory.from_json(load_json(p)) for p in corpus_files("ghsa-pypi")]
    written = export_directory(records, tmp_path / "out")
    assert len(written) == len(records)
    back = {o.record.id: o.record for o in import_path(tmp_path / "out", {})}
    assert back == {r.id: r for r in records}

    array_file = tmp_path / "all.json"
    array_file.write_text(dumps_array(records), "utf-8")
    outcomes = list(import_path(array_file, {}))
    assert [o.status for o in outcomes] == ["created"] * len(records)
    assert outcomes[0].source.endswith("all.json#0")
    assert [o.record.id for o in outcomes] == sorted(r.id for r in records)


def test_export_refuses_ids_that_are_not_file_names(tmp_path, minimal):
    record = Advisory.from_json(minimal).model_copy(update={"id": "x_../../etc"})
    with pytest.raises(InvalidAdvisoryId):
        export_directory([record], tmp_path)


def test_oversized_file_is_invalid(tmp_path, minimal):
    path = tmp_path / "big.json"
    path.write_text(json.dumps(minimal), "utf-8")
    (outcome,) = import_path(path, {}, max_bytes=10)
    assert outcome.status == "invalid" and "larger than" in outcome.reasons[0]


def test_missing_path_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        list(import_path(tmp_path / "nope", {}))
