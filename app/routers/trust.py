"""Trust configuration API: trusted publishers, GPG keys, signature policies.

Each route calls one ``TrustService`` method (``registry.trust``, ``app/trust/service.py``),
which runs its own transaction and returns the wire model (``app/trust/schemas.py``).
Registered before the packages router (its ``/{package:path}`` would swallow these paths).
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.core.input_guards import RowId
from app.deps import PrincipalDep, RegistryDep
from app.trust.schemas import (
    GpgChallenge,
    GpgKeyCreate,
    GpgKeyPublic,
    PolicyPublic,
    PolicyUpdate,
    PublisherCreate,
    PublisherPublic,
)

router = APIRouter(prefix="/api/v1", tags=["trust"])


@router.post("/trusted-publishers", status_code=201, response_model=PublisherPublic,
             summary="Trust a GitHub Actions workflow or a personal Sigstore identity to publish a "
                     "package or a scope")
def add_publisher(body: PublisherCreate, principal: PrincipalDep,
                  registry: RegistryDep) -> PublisherPublic:
    """For a package name that does not exist yet the publisher is *pending*: it reserves
    nothing, expires after 30 days (``pending_expires_at``), is invalidated when someone else
    creates the package, and a user holds at most 3 (409 ``too_many_pending_publishers``).
    A name that exists and is not yours is refused (403)."""
    return registry.trust.add_publisher(principal, body)


@router.get("/trusted-publishers", response_model=list[PublisherPublic],
            summary="Publishers trusted for a package or @scope")
def list_publishers(target: str, registry: RegistryDep) -> list[PublisherPublic]:
    return registry.trust.list_publishers(target)


@router.delete("/trusted-publishers/{publisher_id}", status_code=204)
def remove_publisher(publisher_id: RowId, principal: PrincipalDep,
                     registry: RegistryDep) -> Response:
    registry.trust.remove_publisher(principal, publisher_id)
    return Response(status_code=204)


@router.get("/gpg-keys/challenge", response_model=GpgChallenge,
            summary="A single-use text to sign with the GPG key you are registering")
def gpg_key_challenge(principal: PrincipalDep, registry: RegistryDep) -> GpgChallenge:
    return registry.trust.gpg_challenge(principal)


@router.post("/gpg-keys", status_code=201, response_model=GpgKeyPublic,
             summary="Register your public GPG key, proving you hold it")
def add_gpg_key(body: GpgKeyCreate, principal: PrincipalDep,
                registry: RegistryDep) -> GpgKeyPublic:
    return registry.trust.add_gpg_key(principal, body)


@router.get("/gpg-keys", response_model=list[GpgKeyPublic], summary="Your registered GPG keys")
def list_gpg_keys(principal: PrincipalDep, registry: RegistryDep) -> list[GpgKeyPublic]:
    return registry.trust.list_gpg_keys(principal)


@router.delete("/gpg-keys/{fingerprint}", response_model=GpgKeyPublic,
               summary="Revoke one of your GPG keys (its fingerprints never return)")
def revoke_gpg_key(fingerprint: str, principal: PrincipalDep,
                   registry: RegistryDep) -> GpgKeyPublic:
    return registry.trust.revoke_gpg_key(principal, fingerprint)


@router.put("/signature-policies", response_model=PolicyPublic,
            summary="Set the signature policy of a package or @scope")
def set_policy(body: PolicyUpdate, principal: PrincipalDep,
               registry: RegistryDep) -> PolicyPublic:
    """On a name with no version yet (one you may create) the policy is *pending*
    (``pending_expires_at``): it governs your first publish and becomes the package's policy,
    is dropped when someone else creates the name, and expires after 30 days. Policy ``none``
    (unsigned publishes) is refused outside development (403)."""
    return registry.trust.set_policy(principal, body)
