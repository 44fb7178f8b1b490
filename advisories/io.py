"""Import OSV JSON files or directories, and export records; storage is the caller's job.

Example::

    from advisories.io import import_path, export_directory, dumps_array
    stored = {"GHSA-aaaa-bbbb-cccc": "2024-01-01T00:00:00Z"}      # id -> stored `modified`
    for outcome in import_path(Path("osv-dump/"), stored):
        if outcome.status in ("created", "updated"):
            save(outcome.record)                                  # the app persists
        elif outcome.status == "invalid":
            report(outcome.source, outcome.reasons)
    export_directory(records, Path("out/"))      # one <id>.json per record
    dumps_array(records)                         # one JSON array

A file holds one record (a JSON object) or several (a JSON array, as :func:`dumps_array`
writes). Directories are walked recursively for ``*.json`` in sorted order, skipping hidden
files and folders. Every record gets an
:class:`ImportOutcome`: ``created`` (id not stored), ``updated`` (its ``modified`` is later than
the stored one), ``unchanged`` (same or older ``modified``: importing twice is a no-op), or
``invalid`` with the reasons (bad JSON, schema violations, oversized file). An invalid record
never stops the import of the others. The same id twice in one import is compared with the
first occurrence, as if it had been stored already.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from advisories.errors import InvalidAdvisory, InvalidAdvisoryId
from advisories.models import Advisory, parse_timestamp

Status = Literal["created", "updated", "unchanged", "invalid"]
DEFAULT_MAX_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class ImportOutcome:
    """What happened to one record (or one unreadable file)."""

    source: str  # file path, with "#<index>" for an element of a JSON array
    status: Status
    advisory_id: str | None = None
    record: Advisory | None = None  # set unless status is "invalid"
    reasons: tuple[str, ...] = ()


def import_path(
    path: Path, stored: Mapping[str, str], *, max_bytes: int = DEFAULT_MAX_BYTES
) -> Iterator[ImportOutcome]:
    """Outcomes for every record under ``path`` (a file or a directory).

    ``stored`` maps ids already in the database to their ``modified`` timestamps (strings as in
    OSV); it is read, never changed. Raises FileNotFoundError if ``path`` does not exist;
    everything wrong inside the files is reported as ``invalid`` outcomes instead.
    """
    if not path.exists():
        raise FileNotFoundError(path)
    if path.is_dir():  # hidden files (e.g. an interrupted export's .tmp-*) are not records
        files = sorted(p for p in path.rglob("*.json") if p.is_file() and _visible(p, path))
    else:
        files = [path]
    seen: dict[str, str] = {}
    for file in files:
        for source, data in _read(file, max_bytes):
            if isinstance(data, ImportOutcome):
                yield data
            else:
                yield classify(source, data, stored, seen)


def import_records(
    items: Iterable[object], stored: Mapping[str, str], source: str = "<input>"
) -> Iterator[ImportOutcome]:
    """Outcomes for already-decoded JSON values (e.g. a request body's list)."""
    seen: dict[str, str] = {}
    for index, data in enumerate(items):
        yield classify(f"{source}#{index}", data, stored, seen)


def classify(
    source: str, data: object, stored: Mapping[str, str], seen: dict[str, str]
) -> ImportOutcome:
    """Parse one decoded value and decide created/updated/unchanged/invalid.

    ``seen`` collects the ids decided so far in this import (id -> modified) and is updated.
    """
    try:
        record = Advisory.from_json(data)
    except InvalidAdvisory as err:
        return ImportOutcome(source, "invalid", err.advisory_id, None, tuple(err.reasons))
    previous = seen.get(record.id, stored.get(record.id))
    if previous is None:
        status: Status = "created"
    elif _is_later(record.modified, previous):
        status = "updated"
    else:
        status = "unchanged"
    if status != "unchanged":
        seen[record.id] = record.modified
    return ImportOutcome(source, status, record.id, record)


def dumps_record(record: Advisory) -> str:
    """One record as pretty JSON text (UTF-8, 2-space indent, trailing newline)."""
    return json.dumps(record.to_json(), indent=2, ensure_ascii=False) + "\n"


def dumps_array(records: Iterable[Advisory]) -> str:
    """Records as one JSON array, sorted by id; :func:`import_path` reads it back."""
    data = [r.to_json() for r in sorted(records, key=lambda r: r.id)]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def export_directory(records: Iterable[Advisory], directory: Path) -> list[Path]:
    """Write each record to ``directory/<id>.json`` (atomically: temp file then rename).

    Creates the directory. Raises InvalidAdvisoryId for an id that is not a safe file name
    (path separators, a leading dot) before writing that record.
    """
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for record in sorted(records, key=lambda r: r.id):
        target = directory / f"{_safe_file_stem(record.id)}.json"
        _atomic_write(target, dumps_record(record))
        written.append(target)
    return written


def _read(file: Path, max_bytes: int) -> Iterator[tuple[str, object | ImportOutcome]]:
    source = str(file)
    try:
        if file.stat().st_size > max_bytes:
            reason = f"file is larger than {max_bytes} bytes"
            yield source, ImportOutcome(source, "invalid", reasons=(reason,))
            return
        data = json.loads(file.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        yield source, ImportOutcome(source, "invalid", reasons=(f"unreadable JSON: {err}",))
        return
    if isinstance(data, list):
        for index, item in enumerate(data):
            yield f"{source}#{index}", item
    else:
        yield source, data


def _visible(file: Path, root: Path) -> bool:
    return not any(part.startswith(".") for part in file.relative_to(root).parts)


def _is_later(candidate: str, previous: str) -> bool:
    try:
        return parse_timestamp(candidate) > parse_timestamp(previous)
    except ValueError:  # a malformed stored value: the valid incoming record wins
        return True


def _safe_file_stem(advisory_id: str) -> str:
    if not advisory_id or advisory_id.startswith(".") or any(c in advisory_id for c in "/\\\0"):
        raise InvalidAdvisoryId(advisory_id, "cannot be used as a file name")
    return advisory_id


def _atomic_write(target: Path, text: str) -> None:
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
