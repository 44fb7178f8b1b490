"""Shared helpers for the advisories tests: the real OSV corpus copied into tests/data/osv."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).resolve().parents[2] / "data" / "osv"
CORPORA = ("pypi", "npm", "ghsa-pypi", "ghsa-extra")


def corpus_files(*corpora: str) -> list[Path]:
    """Every record file of the given corpora (INDEX.json excluded), sorted."""
    files: list[Path] = []
    for corpus in corpora or CORPORA:
        files.extend(p for p in sorted((DATA / corpus).glob("*.json")) if p.name != "INDEX.json")
    return files


def load_json(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


@pytest.fixture
def minimal() -> dict[str, Any]:
    """A small valid record, fresh for every test (mutate freely)."""
    return {
        "schema_version": "1.7.5",
        "id": "x_VOUCH-2026-0001",
        "modified": "2026-01-02T03:04:05Z",
        "summary": "demo",
        "affected": [
            {
                "package": {"ecosystem": "PyPI", "name": "demo"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "1.2"}]}
                ],
            }
        ],
    }
