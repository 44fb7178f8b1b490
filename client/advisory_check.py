"""Client-side advisory lookups through the registry's OSV-compatible API.

    index = fetch_advisories(api, ["left-pad", "@acme/x"])
    index.query("Vouch", "left-pad", "1.0.0")       # affecting advisories

One ``POST /v1/querybatch`` (package-only queries: every advisory naming the package) gives
the ids; each distinct record is fetched once from ``/v1/vulns/{id}`` and evaluated locally with
the same range code the registry uses. Raises ``RegistryUnavailable`` when the API cannot be
reached, so callers can tell "could not check" from "checked and clean".
"""

from __future__ import annotations

from collections.abc import Iterable

from advisories.ecosystems import LOCAL_OSV_ECOSYSTEM
from advisories.matching import AdvisoryIndex
from advisories.models import Advisory
from client.api import RegistryClient

BATCH = 1000


def fetch_advisories(api: RegistryClient, names: Iterable[str],
                     ecosystem: str = LOCAL_OSV_ECOSYSTEM) -> AdvisoryIndex:
    index = AdvisoryIndex()
    wanted = sorted(set(names))
    ids: set[str] = set()
    for start in range(0, len(wanted), BATCH):
        chunk = wanted[start:start + BATCH]
        body = api.json("POST", "/v1/querybatch", json={"queries": [
            {"package": {"name": n, "ecosystem": ecosystem}} for n in chunk]})
        for result in body.get("results", []):
            ids.update(v["id"] for v in result.get("vulns", []))
    for advisory_id in sorted(ids):
        record = api.json("GET", f"/v1/vulns/{advisory_id}")
        index.add(Advisory.from_json(record))
    return index
