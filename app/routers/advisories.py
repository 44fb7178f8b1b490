"""Native advisory API under ``/api/v1/advisories``: the security team's lifecycle, bulk
import/export, listing with filters, and quarantine of malicious versions.

Reading published and withdrawn advisories needs no token; drafts and every change need the
security team (role ``security`` or an administrator). Errors are problem+json (see
``app.advisories.errors``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Response

from advisories.severity import Level
from app.advisories.quarantine import QuarantineService
from app.advisories.schemas import (
    AdvisoryPublic,
    ImportReport,
    QuarantineReport,
    QuarantineRequest,
    WithdrawRequest,
)
from app.advisories.service import AdvisoryService, ListFilters
from app.core.errors import MalformedInput
from app.core.input_guards import DB_INT_MAX
from app.deps import OptionalPrincipalDep, PrincipalDep, RegistryDep

router = APIRouter(prefix="/api/v1/advisories", tags=["advisories"])


def _service(registry: RegistryDep) -> AdvisoryService:
    return registry.advisories


def _quarantine(registry: RegistryDep) -> QuarantineService:
    return registry.quarantine


ServiceDep = Annotated[AdvisoryService, Depends(_service)]
QuarantineDep = Annotated[QuarantineService, Depends(_quarantine)]
JsonBody = Annotated[Any, Body()]


@router.get("", response_model=list[AdvisoryPublic],
            summary="List advisories (newest first); drafts only for the security team")
def list_advisories(
    service: ServiceDep, principal: OptionalPrincipalDep,
    package: str | None = None, ecosystem: str | None = None,
    severity: Level | None = None,
    state: Literal["draft", "published", "withdrawn"] | None = None,
    withdrawn: bool | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0, le=DB_INT_MAX),
) -> list[AdvisoryPublic]:
    filters = ListFilters(package=package, ecosystem=ecosystem, severity=severity, state=state,
                          withdrawn=withdrawn, limit=limit, offset=offset)
    return service.list_advisories(principal, filters)


@router.post("", status_code=201, response_model=AdvisoryPublic,
             summary="Draft an advisory from OSV fields; the id is x_VOUCH-YYYY-NNNN")
def create_advisory(fields: JsonBody, service: ServiceDep,
                    principal: PrincipalDep) -> AdvisoryPublic:
    return service.create(principal, fields)


@router.get("/export", summary="Every public record as one OSV JSON array, sorted by id")
def export_advisories(service: ServiceDep, principal: OptionalPrincipalDep,
                      include_drafts: bool = False) -> Response:
    text = service.export(principal, include_drafts=include_drafts)
    return Response(text, media_type="application/json")


@router.post("/import", response_model=ImportReport,
             summary="Import OSV records (an array or one object); idempotent by id+modified")
def import_advisories(body: JsonBody, service: ServiceDep,
                      principal: PrincipalDep) -> ImportReport:
    if isinstance(body, dict):
        body = [body]
    if not isinstance(body, list):
        raise MalformedInput("send one OSV record (an object) or an array of records")
    return service.import_values(principal, body)


@router.get("/{advisory_id}", response_model=AdvisoryPublic, summary="One advisory")
def get_advisory(advisory_id: str, service: ServiceDep,
                 principal: OptionalPrincipalDep) -> AdvisoryPublic:
    return service.detail(principal, advisory_id)


@router.patch("/{advisory_id}", response_model=AdvisoryPublic,
              summary="Edit top-level OSV fields (null removes one)")
def edit_advisory(advisory_id: str, changes: JsonBody, service: ServiceDep,
                  principal: PrincipalDep) -> AdvisoryPublic:
    return service.edit(principal, advisory_id, changes)


@router.post("/{advisory_id}/publish", response_model=AdvisoryPublic,
             summary="Publish a draft")
def publish_advisory(advisory_id: str, service: ServiceDep,
                     principal: PrincipalDep) -> AdvisoryPublic:
    return service.publish(principal, advisory_id)


@router.post("/{advisory_id}/withdraw", response_model=AdvisoryPublic,
             summary="Withdraw with a reason; the record stays retrievable, never matches")
def withdraw_advisory(advisory_id: str, body: WithdrawRequest, service: ServiceDep,
                      principal: PrincipalDep) -> AdvisoryPublic:
    return service.withdraw(principal, advisory_id, body.reason)


@router.post("/{advisory_id}/quarantine", response_model=QuarantineReport,
             summary="Quarantine every version a malicious advisory affects")
def quarantine(advisory_id: str, service: QuarantineDep, principal: PrincipalDep,
               body: Annotated[QuarantineRequest | None, Body()] = None) -> QuarantineReport:
    return service.quarantine(principal, advisory_id, body.reason if body else None)


@router.post("/{advisory_id}/unquarantine", response_model=QuarantineReport,
             summary="Release the versions this advisory quarantined")
def unquarantine(advisory_id: str, service: QuarantineDep,
                 principal: PrincipalDep) -> QuarantineReport:
    return service.release(principal, advisory_id)
