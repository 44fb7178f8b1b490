"""`GET /api/v1/orgs` and `vouch org list`; the audit log newest first with `before`; strict
booleans on `POST /api/v1/users` (issue 12)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import col, select

from app.core.db import session_scope
from app.core.models import User
from tests.conftest import Actors, state_counts
from tests.functional.clihelp import cli_env, vouch
from tests.functional.helpers import assert_problem
from tests.support.server import RunningServer


def test_orgs_lists_the_callers_orgs_and_admins_see_all(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    bob = actors.client(actors.user("bob"))
    root = actors.client(actors.user("root", admin=True))
    assert alice.post("/api/v1/orgs", json={"name": "acme"}).status_code == 201
    assert bob.post("/api/v1/orgs", json={"name": "bobco"}).status_code == 201
    assert alice.post("/api/v1/orgs/acme/members",
                      json={"user": "bob", "role": "member"}).status_code == 201
    assert alice.get("/api/v1/orgs").json() == [
        {"name": "acme", "scope": "@acme", "role": "owner", "members": 2}]
    assert bob.get("/api/v1/orgs").json() == [
        {"name": "acme", "scope": "@acme", "role": "member", "members": 2},
        {"name": "bobco", "scope": "@bobco", "role": "owner", "members": 1}]
    assert [(o["name"], o["role"]) for o in root.get("/api/v1/orgs").json()] == [
        ("acme", None), ("bobco", None)]
    assert_problem(actors.client().get("/api/v1/orgs"), 401, "not_authenticated")


def test_cli_org_list(actors: Actors, server: RunningServer, tmp_path: Path) -> None:
    env = cli_env(server.url, actors.user("alice"), tmp_path)
    empty = vouch("org", "list", env=env, cwd=tmp_path)
    assert empty.returncode == 0 and "no organisation" in empty.stdout
    assert vouch("org", "create", "acme", env=env, cwd=tmp_path).returncode == 0
    listed = vouch("org", "list", env=env, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "@acme  owner  1 member" in listed.stdout
    as_json = vouch("org", "list", "--json", env=env, cwd=tmp_path)
    assert json.loads(as_json.stdout)[0]["scope"] == "@acme"


def test_audit_events_newest_first_below_an_id(actors: Actors) -> None:
    root = actors.client(actors.user("root", admin=True))
    for name in ("o1", "o2", "o3", "o4"):
        assert root.post("/api/v1/orgs", json={"name": name}).status_code == 201
    oldest = root.get("/api/v1/audit-events", params={"action": "org:create"}).json()
    ids = [e["id"] for e in oldest]
    assert ids == sorted(ids) and len(ids) == 4
    newest = root.get("/api/v1/audit-events", params={"action": "org:create", "order": "desc",
                                                      "limit": 2}).json()
    assert [e["id"] for e in newest] == ids[:1:-1][:2] == [ids[3], ids[2]]
    page2 = root.get("/api/v1/audit-events", params={
        "action": "org:create", "order": "desc", "limit": 2, "before": ids[2]}).json()
    assert [e["id"] for e in page2] == [ids[1], ids[0]]
    tail = root.get("/api/v1/audit-events", params={"action": "org:create",
                                                    "after": ids[1]}).json()
    assert [e["id"] for e in tail] == ids[2:]  # `after` keeps working
    for bad in ({"order": "sideways"}, {"before": 0}, {"before": "x"}):
        assert_problem(root.get("/api/v1/audit-events", params=bad), 422, "validation_error")


@pytest.mark.parametrize("flags", [
    {"admin": {"yes": True}}, {"admin": "no"}, {"admin": 1}, {"admin": [True]},
    {"security": "false"}, {"admin": None}, {"name": ["eve"]}, {"name": ""},
    {"shell": True},
])
def test_create_user_takes_strict_booleans(actors: Actors, server: RunningServer,
                                           flags: dict[str, object]) -> None:
    root = actors.client(actors.user("root", admin=True))
    before = state_counts(server)
    response = root.post("/api/v1/users", json={"name": "eve", **flags})
    assert_problem(response, 422, "validation_error")
    assert state_counts(server) == before
    with session_scope(server.registry.engine) as session:
        assert session.exec(select(User).where(col(User.name) == "eve")).first() is None


def test_create_user_with_real_booleans(actors: Actors) -> None:
    root = actors.client(actors.user("root", admin=True))
    response = root.post("/api/v1/users", json={"name": "eve", "admin": False,
                                                "security": True})
    assert response.status_code == 201, response.text
    assert response.json() == {"name": "eve", "admin": False, "security": True}
