"""Resolution helpers: range resolution and batch metadata for clients resolving graphs.

Registered before the packages router: ``/{package:path}`` there would swallow these paths.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from app.deps import SessionDep
from app.publishing.metadata import MAX_BATCH, batch_metadata, resolve_range

router = APIRouter(prefix="/api/v1", tags=["resolve"])


class BatchRequest(BaseModel):
    names: list[str] = Field(max_length=MAX_BATCH)


@router.post("/metadata", summary="Versions, dependencies and digests of many packages")
def metadata(body: BatchRequest, session: SessionDep) -> dict[str, Any]:
    return batch_metadata(session, body.names)


@router.get("/packages/{package:path}/resolve",
            summary="The highest available version satisfying an npm range")
def resolve(package: str, session: SessionDep,
            range: str = Query(default="*", max_length=1024)) -> dict[str, Any]:
    return resolve_range(session, package, range)
