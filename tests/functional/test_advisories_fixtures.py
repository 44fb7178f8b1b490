"""Helpers (no tests) shared by the advisory functional tests: real OSV records and drafts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import Actors

OSV_DATA = Path(__file__).resolve().parents[1] / "data" / "osv"
FASTAPI_GHSA = "GHSA-8h2j-cgx8-6xv7"      # fastapi < 0.65.2, alias CVE-2021-32677
DJANGO_GHSA = "GHSA-68w8-qjq3-2gfm"       # django < 2.2.24, 3.0.0 - 3.1.12, 3.2.0 - 3.2.4
WITHDRAWN_GHSA = "GHSA-69mv-3642-wj3w"    # sensu (RubyGems), withdrawn upstream


def osv_record(folder: str, advisory_id: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((OSV_DATA / folder / f"{advisory_id}.json").read_text())
    return data


def osv_folder(folder: str) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((OSV_DATA / folder).glob("*.json"))
            if p.name != "INDEX.json"]


def security_client(actors: Actors, name: str = "sec") -> httpx.Client:
    return actors.client(actors.user(name, security=True))


def import_folders(client: httpx.Client, *folders: str) -> dict[str, Any]:
    records = [record for folder in folders for record in osv_folder(folder)]
    response = client.post("/api/v1/advisories/import", json=records)
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    assert report["invalid"] == 0, report
    return report


def generic_advisory(package: str, *, introduced: str = "0", fixed: str | None = None,
                     malicious: bool = False, summary: str = "a flaw") -> dict[str, Any]:
    """OSV fields for an advisory about a ``generic`` package of this registry."""
    events: list[dict[str, str]] = [{"introduced": introduced}]
    if fixed:
        events.append({"fixed": fixed})
    fields: dict[str, Any] = {
        "summary": summary,
        "affected": [{"package": {"ecosystem": "Vouch", "name": package},
                      "ranges": [{"type": "SEMVER", "events": events}]}],
        "severity": [{"type": "CVSS_V3",
                      "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
    }
    if malicious:
        fields["database_specific"] = {"malicious": True}
    return fields
