"""Resolution helpers: range resolution and batch metadata for clients resolving graphs;
each route calls one ``PackageReads`` method (``registry.reads``).

Registered before the packages router: ``/{package:path}`` there would swallow these paths.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from app.deps import RegistryDep
from app.proxy.responses import proxied_metadata
from app.publishing.metadata import MAX_BATCH
from app.publishing.schemas import BatchMetadata, ResolvedVersion

router = APIRouter(prefix="/api/v1", tags=["resolve"])


class BatchRequest(BaseModel):
    names: list[str] = Field(max_length=MAX_BATCH)


@router.post("/metadata", response_model=BatchMetadata,
             summary="Versions, dependencies and digests of many packages")
def metadata(body: BatchRequest, request: Request, response: Response,
             registry: RegistryDep) -> BatchMetadata:
    # names not hosted: the upstream proxy's, if configured (issue 17)
    return proxied_metadata(request, response, registry.reads.metadata(body.names))


@router.get("/packages/{package:path}/resolve", response_model=ResolvedVersion,
            summary="The highest available version satisfying an npm range")
def resolve(package: str, registry: RegistryDep,
            range: str = Query(default="*", max_length=1024)) -> ResolvedVersion:
    return registry.reads.resolve(package, range)
