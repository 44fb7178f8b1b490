"""Trust configuration API: trusted publishers, GPG keys, signature policies.

Registered before the packages router (its ``/{package:path}`` would swallow these paths).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from app.core.db import session_scope
from app.core.errors import Forbidden
from app.core.input_guards import RowId
from app.deps import PrincipalDep, RegistryDep, SessionDep
from app.trust import configuration as trust_config
from app.trust import gpg_keys

router = APIRouter(prefix="/api/v1", tags=["trust"])


class PublisherCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: str = Field(description="a package name, or @scope for every package of an org",
                        max_length=214)
    provider: str = Field(
        default="github", pattern="^(github|identity)$",
        description="github: a GitHub Actions workflow (repository, workflow); identity: a "
                    "personal Sigstore identity (identity, issuer), as `sigstore sign` "
                    "produces from a browser login")
    repository: str | None = Field(default=None, max_length=256)
    repository_owner_id: str | None = Field(
        default=None, pattern=r"^[0-9]{1,20}$",
        description="GitHub's numeric owner id; bound on first use when omitted")
    workflow: str | None = Field(default=None, max_length=256)
    environment: str | None = Field(default=None, max_length=256)
    ref_pattern: str | None = Field(default=None, max_length=256)
    identity: str | None = Field(default=None, max_length=256,
                                 description="the certificate's identity, e.g. an e-mail")
    issuer: str | None = Field(default=None, max_length=256,
                               description="the OIDC issuer URL, e.g. "
                                           "https://github.com/login/oauth")


class GpgKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    armored: str = Field(max_length=200_000, description="ASCII-armored public key")
    # Optional in the schema so that a request without them (the pre-issue-9 shape) gets a
    # 400 with a code that says what is missing, not a bare validation error.
    challenge: str | None = Field(
        default=None, max_length=512,
        description="text from GET /api/v1/gpg-keys/challenge, unchanged")
    signature: str | None = Field(
        default=None, max_length=64 * 1024,
        description="armored detached signature of the challenge text, made with this key "
                    "(gpg --armor --detach-sign)")


class GpgChallenge(BaseModel):
    challenge: str
    expires_at: str


class PolicyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target: str = Field(max_length=214)
    policy: str | None


@router.post("/trusted-publishers", status_code=201,
             summary="Trust a GitHub Actions workflow or a personal Sigstore identity to publish a "
                     "package or a scope")
def add_publisher(body: PublisherCreate, principal: PrincipalDep,
                  registry: RegistryDep) -> dict[str, Any]:
    """For a package name that does not exist yet the publisher is *pending*: it reserves
    nothing, expires after 30 days (``pending_expires_at``), is invalidated when someone else
    creates the package, and a user holds at most 3 (409 ``too_many_pending_publishers``).
    A name that exists and is not yours is refused (403)."""
    with session_scope(registry.engine, write=True) as session:
        row = trust_config.add_publisher(
            session, principal, target=body.target, repository=body.repository,
            workflow=body.workflow, environment=body.environment, ref_pattern=body.ref_pattern,
            now=registry.clock.now(), repository_owner_id=body.repository_owner_id,
            provider=body.provider, identity=body.identity, issuer=body.issuer)
        return trust_config.publisher_public(row, session)


@router.get("/trusted-publishers", summary="Publishers trusted for a package or @scope")
def list_publishers(target: str, session: SessionDep) -> list[dict[str, Any]]:
    return [trust_config.publisher_public(r, session)
            for r in trust_config.list_publishers(session, target)]


@router.delete("/trusted-publishers/{publisher_id}", status_code=204)
def remove_publisher(publisher_id: RowId, principal: PrincipalDep,
                     registry: RegistryDep) -> Response:
    with session_scope(registry.engine, write=True) as session:
        trust_config.remove_publisher(session, principal, publisher_id,
                                      now=registry.clock.now())
    return Response(status_code=204)


@router.get("/gpg-keys/challenge", response_model=GpgChallenge,
            summary="A single-use text to sign with the GPG key you are registering")
def gpg_key_challenge(principal: PrincipalDep, registry: RegistryDep) -> dict[str, Any]:
    with session_scope(registry.engine, write=True) as session:
        return gpg_keys.issue_challenge(session, principal, now=registry.clock.now())


@router.post("/gpg-keys", status_code=201,
             summary="Register your public GPG key, proving you hold it")
def add_gpg_key(body: GpgKeyCreate, principal: PrincipalDep,
                registry: RegistryDep) -> dict[str, Any]:
    row = gpg_keys.register_with_proof(registry.engine, principal, body.armored,
                                       body.challenge or "", body.signature or "",
                                       now=registry.clock.now())
    return gpg_keys.gpg_key_public(row)


@router.get("/gpg-keys", summary="Your registered GPG keys")
def list_gpg_keys(principal: PrincipalDep, session: SessionDep) -> list[dict[str, Any]]:
    return [gpg_keys.gpg_key_public(r) for r in gpg_keys.list_keys(session, principal)]


@router.delete("/gpg-keys/{fingerprint}",
               summary="Revoke one of your GPG keys (its fingerprints never return)")
def revoke_gpg_key(fingerprint: str, principal: PrincipalDep,
                   registry: RegistryDep) -> dict[str, Any]:
    with session_scope(registry.engine, write=True) as session:
        row = gpg_keys.revoke_key(session, principal, fingerprint, now=registry.clock.now())
        return gpg_keys.gpg_key_public(row)


@router.put("/signature-policies", summary="Set the signature policy of a package or @scope")
def set_policy(body: PolicyUpdate, principal: PrincipalDep,
               registry: RegistryDep) -> dict[str, Any]:
    if body.policy == "none" and registry.settings.environment != "development":
        raise Forbidden("policy 'none' (unsigned publishes) is refused outside development")
    """On a name with no version yet (one you may create) the policy is *pending*
    (``pending_expires_at``): it governs your first publish and becomes the package's policy,
    is dropped when someone else creates the name, and expires after 30 days."""
    with session_scope(registry.engine, write=True) as session:
        expires = trust_config.set_policy(session, principal, body.target, body.policy,
                                          now=registry.clock.now())
    return {"target": body.target, "policy": body.policy,
            "pending_expires_at": expires.isoformat() if expires else None}
