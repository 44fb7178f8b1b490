"""RFC 9457 problem details: the one place where errors become HTTP responses.

    install_problem_handlers(app)

Every error response is ``application/problem+json`` with a stable ``code``. A 500 hides its
detail (it is logged with a reference the caller can quote).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.db_errors import database_outage
from app.core.errors import DomainError

log = logging.getLogger("vouch.errors")

PROBLEM_JSON = "application/problem+json"

_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


class Problem(BaseModel):
    """The problem+json body every error response carries (RFC 9457 plus ``code``)."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    code: str = Field(description="stable, machine-readable")
    detail: str


def _documented(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {PROBLEM_JSON: {"schema": Problem.model_json_schema()}}}


# Declared on every router (``include_router(..., responses=PROBLEM_RESPONSES)``): any 4xx or
# 5xx an operation answers is problem+json. "4XX" also stops FastAPI from documenting its own
# 422 shape, which this service never sends.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": _documented("The request was refused (problem+json with a stable code)"),
    "5XX": _documented("A server-side failure (problem+json; 500 hides its detail)"),
}


def problem(
    status: int, code: str, title: str, detail: str, **extra: Any
) -> JSONResponse:
    """Build a problem+json response."""
    body: dict[str, Any] = {
        "type": f"https://vouch.dev/problems/{code}",
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
    }
    body.update({k: v for k, v in extra.items() if k not in body})
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install_problem_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json."""

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        return domain_problem(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": [str(p) for p in err.get("loc", ())], "msg": str(err.get("msg", ""))}
            for err in exc.errors()
        ]
        return problem(422, "validation_error", "Invalid request", "the request is invalid",
                       errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        error = getattr(exc, "error", None)
        if isinstance(error, DomainError):  # app.core.limits.RejectedInput, raised from receive()
            return problem(error.status, error.code, error.title, error.detail, **error.extra)
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return problem(exc.status_code, code, code.replace("_", " ").capitalize(),
                       str(exc.detail))

    @app.exception_handler(sa_exc.DBAPIError)
    @app.exception_handler(sa_exc.TimeoutError)
    async def _database(request: Request, exc: Exception) -> JSONResponse:
        return _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        return _unexpected(request, exc)


def domain_problem(exc: DomainError) -> JSONResponse:
    """The problem+json response for a domain error (with Retry-After on a 503 that sets it)."""
    response = problem(exc.status, exc.code, exc.title, exc.detail, **exc.extra)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    """A database outage (issue 10) is a 503 the caller may retry; anything else is a 500
    whose detail is hidden and logged. Neither repeats the driver's message or the URL."""
    outage = database_outage(exc)
    if outage is not None:
        log.warning("database unavailable (%s) on %s %s", outage.reason, request.method,
                    request.url.path)
        return domain_problem(outage)
    reference = uuid.uuid4().hex[:12]
    log.exception("internal error %s on %s %s", reference, request.method, request.url.path,
                  exc_info=exc)
    return problem(500, "internal_error", "Internal server error",
                   f"an internal error occurred (reference {reference})",
                   reference=reference)
