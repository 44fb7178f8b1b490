"""Trusted publishing in PyPI's shape, for `pypa/gh-action-pypi-publish` and
`uv publish --trusted-publishing always` (research/registries-and-protocols.md, table 1b).

    audience(registry)                        # {"audience": "vouch"}
    mint(registry, body)                      # {"success": true, "token": "vouch_...",
                                              #  "expires": <unix>}  or the error shape
    burn(registry, body)                      # 202 {"success": true}: the minted token is
                                              # revoked (uv burns it after publishing)

Both are wrappers over the registry's one exchange (``app.trust.oidc_exchange.OidcExchange``):
the same JWT verification, publisher match, single-use ``jti``, token lifetime, scope and
``token:mint-oidc`` audit event as ``POST /api/v1/oidc/mint-token``. Only the wire shape
differs: a refusal keeps its problem+json fields and status (``invalid_token`` 401,
``invalid_reuse_token`` 401, ``invalid_publisher`` 403, ``oidc_jwks_unavailable`` 503, and 422
``validation_error`` for a body that is not ``{"token": "<jwt>"}``) and adds PyPI's
``message`` and ``errors: [{"code", "description"}]``, which those tools print (PyPI codes:
``invalid-token``, ``invalid-reuse-token``, ``invalid-publisher``, ``invalid-payload``,
``not-enabled``).

``burn`` takes the same ``{"token": ...}`` body holding a token the exchange minted and revokes
it at once (audit event ``token:burn-oidc``), as PyPI's ``/_/oidc/burn-token`` does for uv;
presenting the secret is the proof. Any other token (unknown, expired, revoked, or a user's own
API token) is 401 ``invalid_token`` and nothing changes.
"""

from __future__ import annotations

from datetime import datetime

from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlmodel import Session

from app.accounts.service import authenticate
from app.core.db import session_scope
from app.core.errors import DomainError, InvalidToken
from app.core.models import ApiToken
from app.core.problems import problem
from app.core.records import audit
from app.registry import Registry
from app.trust.schemas import MintRequest

MESSAGE = "Token request failed"
#: Vouch code -> PyPI's error code (warehouse/oidc/views.py).
_PYPI_CODES = {
    "invalid_token": "invalid-token",
    "invalid_reuse_token": "invalid-reuse-token",
    "invalid_publisher": "invalid-publisher",
    "oidc_jwks_unavailable": "not-enabled",
    "service_unavailable": "not-enabled",
}


def audience(registry: Registry) -> dict[str, str]:
    return {"audience": registry.settings.oidc_audience}


def mint(registry: Registry, body: bytes) -> JSONResponse:
    """Exchange the OIDC token in ``body``; the answer in PyPI's shape (module docstring)."""
    try:
        request = MintRequest.model_validate_json(body)
    except ValidationError as err:
        return _invalid_payload(err)
    try:
        minted = registry.oidc.mint(request.token)
    except DomainError as err:
        return _refusal(err)
    return JSONResponse({"success": True, "token": minted.secret,
                         "expires": int(minted.expires_at.timestamp())})


def burn(registry: Registry, body: bytes) -> JSONResponse:
    """Revoke the minted token in ``body`` (202), or refuse as ``mint`` does."""
    try:
        request = MintRequest.model_validate_json(body)
    except ValidationError as err:
        return _invalid_payload(err)
    try:
        with session_scope(registry.engine, write=True) as session:
            burn_minted_token(session, request.token, now=registry.clock.now())
    except DomainError as err:
        return _refusal(err)
    return JSONResponse({"success": True}, status_code=202)


def burn_minted_token(session: Session, secret: str, *, now: datetime) -> None:
    """Revoke the exchange-minted token whose secret is ``secret``; ``InvalidToken`` for any
    other (unknown, expired, already revoked, or not minted by the exchange)."""
    principal = authenticate(session, secret, now=now)
    row = session.get(ApiToken, principal.token_id) if principal.token_id else None
    if row is None or principal.trusted_publisher_id is None:
        raise InvalidToken("only a token minted by the trusted-publishing exchange can be "
                           "burned here; revoke your own tokens with DELETE /api/v1/tokens/ID")
    row.revoked_at = now
    session.add(row)
    audit(session, at=now, actor=principal.name, action="token:burn-oidc", token_id=row.id,
          token_prefix=row.prefix, publisher_id=principal.trusted_publisher_id)


def _invalid_payload(err: ValidationError) -> JSONResponse:
    return problem(422, "validation_error", "Invalid request",
                   'the body must be a JSON object {"token": "<token>"}',
                   message=MESSAGE, errors=[{"code": "invalid-payload",
                                             "description": _first(err)}])


def _refusal(err: DomainError) -> JSONResponse:
    """problem+json (status, code, detail as everywhere) plus PyPI's ``message``/``errors``."""
    pypi_code = _PYPI_CODES.get(err.code, err.code.replace("_", "-"))
    response = problem(err.status, err.code, err.title, err.detail, message=MESSAGE,
                       errors=[{"code": pypi_code, "description": err.detail}], **err.extra)
    retry_after = getattr(err, "retry_after", None)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _first(err: ValidationError) -> str:
    errors = err.errors()
    if not errors:
        return "invalid payload"
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
