"""The OSV API's request and response shapes (api.osv.dev ``/v1/query``, ``/v1/querybatch``).

    query = parse_query({"package": {"ecosystem": "PyPI", "name": "requests"},
                         "version": "2.31.0"})          # -> Query("PyPI", "requests", "2.31.0")
    parse_query({"package": {"purl": "pkg:npm/lodash@4.17.20"}})
    query_response(records)        # {"vulns": [full OSV records]}, or {} when none match
    batch_response(results)        # {"results": [{"vulns": [{"id", "modified"}]} | {}, ...]}

Rules copied from OSV.dev (docs/api, go/internal/api): a query names a package by ``name`` +
``ecosystem`` or by ``purl`` (not both); a versioned purl and a ``version`` field together
are refused ("version specified in params and PURL query"); ecosystem names are
case-sensitive and an unknown one is refused ("invalid ecosystem"); a batch holds at most
1,000 queries ("too many queries"). ``commit`` queries match GIT ranges on OSV.dev; this
registry keeps no commit index, so they match nothing (an empty result, not an error, so that
a mixed batch from osv-scanner still works). Results are never paginated: no
``next_page_token`` is ever returned. Failures raise ``InvalidQuery`` (400 ``invalid_query``)
or the library's ``InvalidPurl`` mapped to 400 ``invalid_purl``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from typing import Any

from advisories.ecosystems import LOCAL_OSV_ECOSYSTEM, base_ecosystem
from advisories.errors import InvalidPurl
from advisories.matching import Query
from advisories.models import Advisory
from advisories.purl import parse_purl
from advisories.schema import load_schema
from app.advisories.errors import InvalidQuery, from_library

MAX_BATCH = 1000


@cache
def known_ecosystems() -> frozenset[str]:
    """The OSV schema's ecosystem names, plus ``Vouch`` for this registry's own packages."""
    names = load_schema()["$defs"]["ecosystemName"]["enum"]
    return frozenset([*names, LOCAL_OSV_ECOSYSTEM])


def decode_body(body: bytes) -> Any:
    """JSON whatever the Content-Type says (pip-audit sends none)."""
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise InvalidQuery(f"the request body is not JSON: {err}") from err


def parse_query(data: object) -> Query | None:
    """One OSV query as an index ``Query``; None for a commit query (it matches nothing)."""
    if not isinstance(data, dict):
        raise InvalidQuery("a query is a JSON object")
    version = _optional_text(data, "version")
    commit = _optional_text(data, "commit")
    package = data.get("package")
    if package is None:
        if commit:
            return None
        raise InvalidQuery("a query needs a package (name and ecosystem, or purl)")
    if not isinstance(package, dict):
        raise InvalidQuery("package must be an object")
    purl = _optional_text(package, "purl")
    name = _optional_text(package, "name")
    ecosystem = _optional_text(package, "ecosystem")
    if purl:
        if name or ecosystem:
            raise InvalidQuery("name/ecosystem specified in a PURL query")
        try:
            ref = parse_purl(purl)
        except InvalidPurl as err:
            raise from_library(err) from err
        if ref.version and version:
            raise InvalidQuery("version specified in params and PURL query")
        return Query(ref.ecosystem, ref.name, ref.version or version)
    if not name or not ecosystem:
        raise InvalidQuery("a package needs both name and ecosystem (or a purl)")
    if base_ecosystem(ecosystem) not in known_ecosystems():
        raise InvalidQuery(f"invalid ecosystem {ecosystem!r} (names are case-sensitive)")
    if commit and not version:
        return None
    return Query(ecosystem, name, version)


def parse_batch(data: object) -> list[Query | None]:
    if not isinstance(data, dict) or not isinstance(data.get("queries"), list):
        raise InvalidQuery('a batch is {"queries": [...]}')
    queries = data["queries"]
    if len(queries) > MAX_BATCH:
        raise InvalidQuery(f"too many queries: at most {MAX_BATCH} per batch")
    return [parse_query(item) for item in queries]


def query_response(records: Sequence[Advisory]) -> dict[str, Any]:
    return {"vulns": [record.to_json() for record in records]} if records else {}


def batch_response(results: Sequence[Sequence[Advisory]]) -> dict[str, Any]:
    return {"results": [
        {"vulns": [{"id": r.id, "modified": r.modified} for r in records]} if records else {}
        for records in results
    ]}


def _optional_text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidQuery(f"{key} must be a string")
    return value
