"""PostgreSQL's per-request reads probe an index per key, whatever the statistics say (issue 13).

The download lookup (``fast_downloads``) and the token lookup (``token_lookup``) run once per
batch of requests (the generation feed's plan is tested in ``test_generation_feed``). Written
as a join over ``unnest`` and as ``name = ANY(...)``, the planner scanned every package (an
index scan on ``ecosystem`` alone, or a sequential scan) on a table that was never analysed,
which is every table on a server with autovacuum off, as here: 1.5-3.3 ms a batch at 1,000
packages instead of 0.2 ms.
Runs against the real PostgreSQL on 127.0.0.1:5432 whatever ``VOUCH_TEST_DB`` says.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from app.accounts.token_lookup import _BATCH_QUERY as _TOKENS
from app.core.db import make_engine, upgrade
from app.publishing.fast_downloads import _BATCH_QUERY
from tests.support.databases import empty_postgres_database


@pytest.fixture(scope="module")
def pg() -> Iterator[psycopg.Connection[Any]]:
    with empty_postgres_database("vouch_plans") as url:
        engine = make_engine(url)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            yield conn


def _scans(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _scans(child)


def _scans_of(conn: psycopg.Connection[Any], sql: str, params: tuple[Any, ...],
              table: str) -> list[dict[str, Any]]:
    """The scans of ``table`` in the plan of ``sql`` (written with libpq's ``$n`` placeholders,
    as ``loop_queries`` prepares it)."""
    for n in range(len(params), 0, -1):
        sql = sql.replace(f"${n}", "%s")
    row = conn.execute("EXPLAIN (FORMAT JSON) " + sql, params).fetchone()
    assert row is not None
    return [node for node in _scans(row[0][0]["Plan"]) if node.get("Relation Name") == table]


def test_the_download_lookup_probes_packages_by_name(pg: psycopg.Connection[Any]) -> None:
    # Native downloads (no file name) and pip's (by file name) share the batch.
    names = [f"pkg-{i}" for i in range(16)]
    ecosystems = ["generic", "pypi"] * 8
    filenames = ["" if e == "generic" else f"{n}-1.0.0-py3-none-any.whl"
                 for e, n in zip(ecosystems, names, strict=True)]
    params = (ecosystems, names, ["1.0.0"] * 16, filenames)
    scans = _scans_of(pg, _BATCH_QUERY, params, "packages")
    assert scans, "the query reads packages"
    for scan in scans:
        assert scan["Node Type"] in ("Index Scan", "Index Only Scan"), scan["Node Type"]
        assert "name" in scan.get("Index Cond", ""), scan  # one probe per name, not a scan
    for table in ("package_versions", "package_files"):
        for scan in _scans_of(pg, _BATCH_QUERY, params, table):
            assert scan["Node Type"] in ("Index Scan", "Index Only Scan"), (table, scan)


def test_the_token_lookup_probes_each_digest(pg: psycopg.Connection[Any]) -> None:
    digests = [f"{i:064x}" for i in range(16)]
    scans = _scans_of(pg, _TOKENS, (digests,), "api_tokens")
    assert scans, "the query reads api_tokens"
    for scan in scans:
        assert scan["Node Type"] in ("Index Scan", "Index Only Scan"), scan["Node Type"]
        assert "token_hash" in scan.get("Index Cond", ""), scan
