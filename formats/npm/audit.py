"""``npm audit``: the bulk request (``POST /-/npm/v1/security/advisories/bulk``) and its answer,
built from OSV records.

    wanted = parse_bulk_request(body, content_encoding="gzip")    # {"lodash": ["4.17.20"]}
    answer = bulk_answer(wanted, lambda name: index.query("npm", name), url_for)

The answer maps each package to the advisories that affect at least one of the versions asked
about: ``{"id": int, "url", "title", "severity", "vulnerable_versions", "cwe", "cvss"}``, as
npm's arborist reads them (it re-evaluates ``vulnerable_versions`` against the packument, so
that range must say exactly what the OSV record says). Whether a version is affected is
``advisories.ranges``' evaluation; ``vulnerable_versions`` is the record's ranges written as an
npm range (``>=1.0.0 <1.2.3 || 2.0.0``). Severity is the record's assessed level
(``advisories.severity``; npm's names are the same); a record with no usable severity is
reported as ``moderate``, so npm's default audit level never hides it. Malformed requests
raise ``InvalidPublish`` (code ``invalid_metadata``).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from advisories.models import Advisory, Affected
from advisories.ranges import is_affected
from advisories.severity import assess, score_vector
from formats.npm.errors import InvalidPublish
from versions.errors import InvalidVersion
from versions.semver import Version

MAX_BULK_BYTES = 8 << 20  # decompressed
UNKNOWN_SEVERITY = "moderate"


def parse_bulk_request(body: bytes, *, content_encoding: str | None = None,
                       max_bytes: int = MAX_BULK_BYTES) -> dict[str, list[str]]:
    """``{name: [version, ...]}`` from the (usually gzip'ed) JSON body npm sends."""
    if (content_encoding or "").strip().lower() == "gzip" or body[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(body)) as unzipped:
                body = unzipped.read(max_bytes + 1)
        except (OSError, EOFError) as err:
            raise InvalidPublish(f"the audit body is not valid gzip: {err}") from err
    if len(body) > max_bytes:
        raise InvalidPublish(f"the audit request is larger than {max_bytes} bytes")
    try:
        doc = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError) as err:
        raise InvalidPublish(f"the audit body is not JSON: {err}") from err
    if not isinstance(doc, dict) or not all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(x, str) for x in v)
            for k, v in doc.items()):
        raise InvalidPublish('the audit body must be {"name": ["version", ...], ...}')
    return doc


def advisory_number(advisory_id: str) -> int:
    """A stable positive integer for an advisory id (npm's ``id`` is a number)."""
    return int.from_bytes(hashlib.sha256(advisory_id.encode()).digest()[:6], "big")


def _semver(text: str) -> bool:
    try:
        Version.parse(text)
    except InvalidVersion:
        return False
    return True


def vulnerable_versions(entry: Affected) -> str:
    """The entry's ``ranges`` (SEMVER / ECOSYSTEM) and ``versions`` as one npm range.

    A range with an event version that is not SemVer (``fixed: "1.1"``) is left out, as
    ``advisories.ranges`` skips it when deciding what is affected: the range npm re-evaluates
    says exactly what the registry decided. An entry with nothing usable is ``<0.0.0-0``
    (nothing)."""
    parts: list[str] = []
    for rng in entry.ranges or []:
        if rng.type not in ("SEMVER", "ECOSYSTEM") or not all(
                e.value in ("0", "*") or _semver(e.value) for e in rng.events):
            continue
        lower: str | None = None
        for event in rng.events:
            kind, value = event.kind, event.value
            if kind == "introduced":
                lower = "" if value == "0" else f">={value}"
            elif lower is not None and kind in ("fixed", "last_affected", "limit"):
                bound = f"<={value}" if kind == "last_affected" else f"<{value}"
                if value != "*":
                    parts.append(f"{lower} {bound}".strip())
                else:
                    parts.append(lower or "*")
                lower = None
        if lower is not None:
            parts.append(lower or "*")
    parts.extend(v for v in entry.versions or [] if _semver(v))
    if "*" in parts:
        return "*"
    return " || ".join(dict.fromkeys(parts)) or "<0.0.0-0"


def _entries(record: Advisory, name: str) -> list[Affected]:
    return [entry for entry in record.affected or []
            if entry.package is not None and entry.package.ecosystem == "npm"
            and entry.package.name == name]


def _item(record: Advisory, entry: Affected, url: str) -> dict[str, Any]:
    assessment = assess(record)
    cwe = (record.database_specific or {}).get("cwe_ids")
    item: dict[str, Any] = {
        "id": advisory_number(record.id),
        "url": url,
        "title": record.summary or record.id,
        "severity": assessment.level if assessment else UNKNOWN_SEVERITY,
        "vulnerable_versions": vulnerable_versions(entry),
        "cwe": [c for c in cwe if isinstance(c, str)] if isinstance(cwe, list) else [],
        "cvss": {"score": 0, "vectorString": None},
    }
    if assessment is not None and assessment.vector:
        scored = score_vector(assessment.vector)
        item["cvss"] = {"score": scored.base_score, "vectorString": assessment.vector}
    return item


def bulk_answer(wanted: Mapping[str, Iterable[str]],
                advisories_for: Callable[[str], Iterable[Advisory]],
                url_for: Callable[[Advisory], str]) -> dict[str, list[dict[str, Any]]]:
    """For each package, the advisories affecting at least one asked-about version (withdrawn
    records are the caller's to leave out); packages with none are left out."""
    answer: dict[str, list[dict[str, Any]]] = {}
    for name, asked in wanted.items():
        versions = list(dict.fromkeys(asked))
        found = []
        for record in advisories_for(name):
            for entry in _entries(record, name):
                if any(is_affected(entry, v, "npm") for v in versions):
                    found.append(_item(record, entry, url_for(record)))
                    break
        if found:
            answer[name] = sorted(found, key=lambda item: item["url"])
    return answer
