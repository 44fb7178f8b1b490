"""The accounts routes answer their typed models, with the same JSON as before (issue 11:
routes call one ``AccountService`` method and open no session)."""

from __future__ import annotations

from sqlmodel import select

from app.core.db import session_scope
from app.core.models import Membership, User
from tests.conftest import Actors
from tests.functional.helpers import assert_problem
from tests.support.server import RunningServer


def test_whoami_names_the_caller_and_the_token_limits(actors: Actors) -> None:
    admin = actors.client(actors.user("root", admin=True))
    assert admin.get("/api/v1/whoami").json() == {
        "name": "root", "admin": True, "security": False, "actions": [], "packages": []}
    limited = actors.client(actors.user("bob", actions=["read"], packages=["left-*"]))
    assert limited.get("/api/v1/whoami").json() == {
        "name": "bob", "admin": False, "security": False, "actions": ["read"],
        "packages": ["left-*"]}


def test_org_member_and_user_routes_answer_their_models(actors: Actors,
                                                        server: RunningServer) -> None:
    admin = actors.client(actors.user("root", admin=True))
    created = admin.post("/api/v1/users", json={"name": "carol", "security": True})
    assert created.status_code == 201
    assert created.json() == {"name": "carol", "admin": False, "security": True}
    org = admin.post("/api/v1/orgs", json={"name": "acme"})
    assert org.status_code == 201
    assert org.json() == {"name": "acme", "scope": "@acme"}
    member = admin.post("/api/v1/orgs/acme/members", json={"user": "carol"})
    assert member.status_code == 201
    assert member.json() == {"org": "acme", "user": "carol", "role": "member"}
    assert admin.get("/api/v1/orgs").json() == [
        {"name": "acme", "scope": "@acme", "role": "owner", "members": 2}]
    assert admin.delete("/api/v1/orgs/acme/members/carol").status_code == 204
    with session_scope(server.registry.engine) as session:
        carol = session.exec(select(User).where(User.name == "carol")).one()
        assert carol.is_security and not carol.is_admin
        assert session.exec(select(Membership).where(
            Membership.user_id == carol.id)).all() == []


def test_a_refused_member_change_writes_nothing(actors: Actors, server: RunningServer) -> None:
    alice = actors.client(actors.user("alice"))
    actors.user("bob")
    assert alice.post("/api/v1/orgs", json={"name": "acme"}).status_code == 201
    bob = actors.client(actors.token("bob"))
    assert_problem(bob.post("/api/v1/orgs/acme/members", json={"user": "bob"}), 403,
                   "forbidden")
    assert_problem(alice.post("/api/v1/orgs/acme/members", json={"user": "nobody"}), 404,
                   "not_found")
    with session_scope(server.registry.engine) as session:
        assert len(session.exec(select(Membership)).all()) == 1
