"""`vouch policy set NAME POLICY` before NAME's first version (issue 12): a pending policy,
with the anti-takeover rules of pending trusted publishers."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import httpx
from sqlmodel import col, select

from app.core.clock import ManualClock
from app.core.db import session_scope
from app.core.models import AuditEvent, Package, PendingPolicy
from tests.conftest import Actors, state_counts
from tests.functional.clihelp import cli_env, vouch
from tests.functional.helpers import assert_problem, publish
from tests.support.server import RunningServer


def _set(client: httpx.Client, target: str, policy: str | None) -> httpx.Response:
    return client.put("/api/v1/signature-policies", json={"target": target, "policy": policy})


def _package_policy(server: RunningServer, name: str) -> str | None:
    with session_scope(server.registry.engine) as session:
        package = session.exec(select(Package).where(Package.name == name)).one()
        return package.signature_policy


def _pending(server: RunningServer) -> list[tuple[str, str, str]]:
    with session_scope(server.registry.engine) as session:
        return [(r.package_name, r.created_by, r.policy)
                for r in session.exec(select(PendingPolicy).order_by(col(PendingPolicy.id)))]


def _actions(server: RunningServer, name: str) -> list[str]:
    with session_scope(server.registry.engine) as session:
        return [e.action for e in session.exec(select(AuditEvent).where(
            AuditEvent.package == name).order_by(col(AuditEvent.id)))]


def test_a_policy_set_before_the_first_version_governs_it(actors: Actors,
                                                          server: RunningServer,
                                                          clock: ManualClock) -> None:
    alice = actors.client(actors.user("alice"))
    response = _set(alice, "widget", "sigstore")
    assert response.status_code == 200, response.text
    assert response.json()["pending_expires_at"] == (clock.now() + timedelta(days=30)).isoformat()
    before = state_counts(server)
    # alice's own first publish must satisfy what she asked for: GPG is refused
    assert_problem(publish(alice, "widget", "1.0.0"), 400, "signature_method_not_allowed")
    assert state_counts(server) == before
    assert _pending(server) == [("widget", "alice", "sigstore")]


def test_the_pending_policy_becomes_the_package_policy(actors: Actors,
                                                       server: RunningServer) -> None:
    alice = actors.client(actors.user("alice"))
    assert _set(alice, "widget", "gpg").status_code == 200
    assert publish(alice, "widget", "1.0.0").status_code == 201
    assert _package_policy(server, "widget") == "gpg"
    assert _pending(server) == []
    # In the order they happened (a publish writes its own events in one statement, after
    # the claim's: issue 13), nothing twice.
    assert _actions(server, "widget") == [
        "signature-policy:set", "package:create", "signature-policy:pending-applied",
        "version:publish"]


def test_someone_elses_pending_policy_binds_nobody_and_is_dropped(
        actors: Actors, server: RunningServer) -> None:
    mallory = actors.client(actors.user("mallory"))
    alice = actors.client(actors.user("alice"))
    assert _set(mallory, "widget", "sigstore").status_code == 200  # would lock alice out
    assert publish(alice, "widget", "1.0.0").status_code == 201     # GPG: mallory's is not hers
    assert _package_policy(server, "widget") is None
    assert _pending(server) == []
    assert "signature-policy:pending-invalidated" in _actions(server, "widget")
    # and the name is alice's now: mallory cannot set its policy any more
    assert_problem(_set(mallory, "widget", "none"), 403, "forbidden")


def test_a_pending_policy_expires(actors: Actors, server: RunningServer,
                                  clock: ManualClock) -> None:
    alice = actors.client(actors.user("alice"))
    assert _set(alice, "widget", "sigstore").status_code == 200
    clock.advance(timedelta(days=30))
    assert publish(alice, "widget", "1.0.0").status_code == 201  # expired: the default applies
    assert _package_policy(server, "widget") is None
    assert "signature-policy:pending-expired" in _actions(server, "widget")


def test_default_drops_a_pending_policy_and_scopes_need_membership(
        actors: Actors, server: RunningServer) -> None:
    alice = actors.client(actors.user("alice"))
    outsider = actors.client(actors.user("oscar"))
    assert _set(alice, "widget", "sigstore").status_code == 200
    assert _set(alice, "widget", None).json()["pending_expires_at"] is None
    assert _pending(server) == []
    assert alice.post("/api/v1/orgs", json={"name": "acme"}).status_code == 201
    before = state_counts(server)
    assert_problem(_set(outsider, "@acme/widget", "gpg"), 403, "forbidden")
    assert state_counts(server) == before and _pending(server) == []


def test_cli_sets_a_policy_before_the_first_version(actors: Actors, server: RunningServer,
                                                    tmp_path: Path) -> None:
    env = cli_env(server.url, actors.user("alice"), tmp_path)
    result = vouch("policy", "set", "widget", "gpg", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "signature policy of widget: gpg (pending" in result.stdout


def test_a_user_holds_at_most_three_pending_policies(actors: Actors, server: RunningServer,
                                                     clock: ManualClock) -> None:
    bob = actors.client(actors.user("bob"))
    for name in ("one", "two", "three"):
        assert _set(bob, name, "sigstore").status_code == 200
    before = state_counts(server)
    body = assert_problem(_set(bob, "four", "gpg"), 409, "too_many_pending_policies")
    assert "3" in body["detail"] and "vouch policy set NAME default" in body["detail"]
    assert body["limit"] == 3 and body["pending"] == ["one", "three", "two"]
    assert state_counts(server) == before
    assert [p for p in _pending(server) if p[0] == "four"] == []
    # Replacing one's own pending policy takes no new slot; dropping one frees a slot.
    assert _set(bob, "two", "gpg").status_code == 200
    assert _set(bob, "three", None).status_code == 200
    assert _set(bob, "four", "gpg").status_code == 200
    assert_problem(_set(bob, "five", "gpg"), 409, "too_many_pending_policies")
    # Another user has their own allowance; an existing package's policy is not pending.
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "mine", "1.0.0").status_code == 201
    for name in ("five", "six", "seven"):
        assert _set(alice, name, "gpg").status_code == 200
    assert _set(alice, "mine", "gpg").status_code == 200
    # An expired one frees its slot.
    clock.advance(timedelta(days=30))
    assert _set(bob, "five", "gpg").status_code == 200
    assert sorted(p[0] for p in _pending(server) if p[1] == "bob") == ["five"]


def test_concurrent_pending_policies_never_exceed_the_limit(actors: Actors,
                                                            server: RunningServer) -> None:
    bob_token = actors.user("bob")
    results: list[int] = []
    lock = threading.Lock()

    def set_one(i: int) -> None:
        with actors.client(bob_token) as bob:
            status = _set(bob, f"race-{i}", "sigstore").status_code
        with lock:
            results.append(status)

    threads = [threading.Thread(target=set_one, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [200] * 3 + [409] * 5
    assert len([p for p in _pending(server) if p[1] == "bob"]) == 3
    with session_scope(server.registry.engine) as session:
        events = session.exec(select(AuditEvent).where(
            AuditEvent.action == "signature-policy:set", AuditEvent.actor == "bob")).all()
    assert len(events) == 3
