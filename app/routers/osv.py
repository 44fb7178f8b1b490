"""The OSV-compatible API (``POST /v1/query``, ``POST /v1/querybatch``, ``GET /v1/vulns/{id}``),
so ``pip-audit --osv-url`` and osv-scanner-style clients work against Vouch unchanged.

Each route parses the raw body (``app.advisories.osv``) and calls one ``AdvisoryService``
method (``registry.advisories``). The answers are OSV's JSON, not a model of ours; shapes
follow api.osv.dev: a query answers full records or ``{}``; a batch answers only ids and
``modified``, in input order; withdrawn records are returned by id but never match a query;
drafts do not exist here. Errors are problem+json
with a ``message`` field too (the gRPC-gateway field OSV clients print).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from app.advisories.errors import AdvisoryNotFound
from app.advisories.osv import decode_body, parse_batch, parse_query
from app.core.errors import DomainError
from app.deps import RegistryDep

router = APIRouter(prefix="/v1", tags=["osv"])

# The bodies are read raw (pip-audit sends no Content-Type); documented here for clients and
# for the schema-driven fuzzer (tests/functional/test_openapi_fuzz.py).
_QUERY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "package": {"type": "object", "properties": {
            "name": {"type": "string"}, "ecosystem": {"type": "string"},
            "purl": {"type": "string"}}},
        "version": {"type": "string"},
        "commit": {"type": "string"},
    },
}
_QUERY_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": _QUERY}}}}
_BATCH_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["queries"],
    "properties": {"queries": {"type": "array", "items": _QUERY, "maxItems": 1000}}}}}}}


def _with_message(err: DomainError) -> None:
    err.extra.setdefault("message", err.detail)


@router.post("/query", summary="Advisories affecting one package version (OSV API)",
             openapi_extra=_QUERY_BODY)
async def query(request: Request, registry: RegistryDep) -> dict[str, Any]:
    try:
        parsed = parse_query(decode_body(await request.body()))
    except DomainError as err:
        _with_message(err)
        raise
    return await run_in_threadpool(registry.advisories.osv_query, parsed)


@router.post("/querybatch", summary="Many queries at once; ids and modified only (OSV API)",
             openapi_extra=_BATCH_BODY)
async def querybatch(request: Request, registry: RegistryDep) -> dict[str, Any]:
    try:
        parsed = parse_batch(decode_body(await request.body()))
    except DomainError as err:
        _with_message(err)
        raise
    return await run_in_threadpool(registry.advisories.osv_querybatch, parsed)


@router.get("/vulns/{advisory_id}", summary="One record by id, withdrawn ones too (OSV API)")
def vuln(advisory_id: str, registry: RegistryDep) -> dict[str, Any]:
    try:
        record = registry.advisories.get_public(advisory_id)
    except AdvisoryNotFound as err:
        _with_message(err)
        raise
    return record.to_json()
