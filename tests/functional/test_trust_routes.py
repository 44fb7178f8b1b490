"""The trust configuration routes answer their typed models (issue 11: routes call one
``TrustService`` method), and policy ``none`` is refused outside development with nothing
written."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.core.db import session_scope
from app.core.models import AuditEvent, Org, Package, PendingPolicy
from tests.conftest import Actors, state_counts
from tests.functional.helpers import assert_problem, publish
from tests.support.server import RunningServer

PUBLISHER_KEYS = {"id", "package", "scope", "provider", "repository", "repository_owner_id",
                  "workflow", "environment", "ref_pattern", "identity", "issuer", "describe",
                  "created_by", "created_at", "pending_expires_at"}


def _audit_actions(server: RunningServer) -> list[str]:
    with session_scope(server.registry.engine) as session:
        return [e.action for e in session.exec(select(AuditEvent))]


def test_publisher_routes_answer_the_publisher_model(actors: Actors,
                                                     server: RunningServer) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "widget", "1.0.0").status_code == 201
    created = alice.post("/api/v1/trusted-publishers", json={
        "target": "widget", "repository": "acme/widget", "workflow": "release.yml"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == PUBLISHER_KEYS
    assert (body["package"], body["scope"], body["repository"], body["workflow"],
            body["pending_expires_at"]) == ("widget", None, "acme/widget", "release.yml", None)
    listed = actors.client().get("/api/v1/trusted-publishers", params={"target": "widget"})
    assert listed.status_code == 200
    assert listed.json() == [body]
    assert alice.delete(f"/api/v1/trusted-publishers/{body['id']}").status_code == 204
    assert actors.client().get("/api/v1/trusted-publishers",
                               params={"target": "widget"}).json() == []
    assert _audit_actions(server)[-2:] == ["trusted-publisher:add", "trusted-publisher:remove"]


def test_gpg_key_routes_answer_the_key_model(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    keys = alice.get("/api/v1/gpg-keys")
    assert keys.status_code == 200
    [key] = keys.json()
    assert set(key) == {"fingerprint", "expires_at", "created_at", "revoked_at"}
    assert key["revoked_at"] is None
    challenge = alice.get("/api/v1/gpg-keys/challenge")
    assert challenge.status_code == 200
    assert set(challenge.json()) == {"challenge", "expires_at"}
    revoked = alice.delete(f"/api/v1/gpg-keys/{key['fingerprint']}")
    assert revoked.status_code == 200
    assert revoked.json()["fingerprint"] == key["fingerprint"]
    assert revoked.json()["revoked_at"] is not None
    assert alice.get("/api/v1/gpg-keys").json() == [revoked.json()]


def test_a_policy_answer_names_target_policy_and_pending_expiry(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "widget", "1.0.0").status_code == 201
    response = alice.put("/api/v1/signature-policies",
                         json={"target": "widget", "policy": "gpg"})
    assert response.status_code == 200, response.text
    assert response.json() == {"target": "widget", "policy": "gpg", "pending_expires_at": None}


@pytest.mark.parametrize("settings_overrides", [{"environment": "production"}], indirect=True)
@pytest.mark.parametrize("target", ["widget", "@acme", "unborn"])
def test_policy_none_is_refused_outside_development(actors: Actors, server: RunningServer,
                                                    target: str) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "widget", "1.0.0").status_code == 201
    assert alice.post("/api/v1/orgs", json={"name": "acme"}).status_code == 201
    before = state_counts(server)
    response = alice.put("/api/v1/signature-policies", json={"target": target, "policy": "none"})
    assert_problem(response, 403, "forbidden")
    assert "outside development" in response.json()["detail"]
    assert state_counts(server) == before
    with session_scope(server.registry.engine) as session:
        assert [p.signature_policy for p in session.exec(select(Package))] == [None]
        assert [o.signature_policy for o in session.exec(select(Org))] == [None]
        assert session.exec(select(PendingPolicy)).all() == []


def test_policy_none_is_accepted_in_development(actors: Actors, server: RunningServer) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "widget", "1.0.0").status_code == 201
    response = alice.put("/api/v1/signature-policies",
                         json={"target": "widget", "policy": "none"})
    assert response.status_code == 200, response.text
    with session_scope(server.registry.engine) as session:
        assert [p.signature_policy for p in session.exec(select(Package))] == ["none"]


def test_an_unknown_policy_names_the_policies_and_writes_nothing(actors: Actors,
                                                                 server: RunningServer) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "widget", "1.0.0").status_code == 201
    before = state_counts(server)
    response = alice.put("/api/v1/signature-policies",
                         json={"target": "widget", "policy": "strict"})
    assert_problem(response, 400, "malformed_input")
    assert response.json()["detail"] == "policy is one of sigstore, gpg, any, none"
    assert state_counts(server) == before
