"""Unsigned publishes (the ``none`` policy, development only) follow every publish rule.

On PostgreSQL an upload with no signature is checked and recorded in one transaction (issue
13: nothing has to be verified outside it, so nothing is read twice); on SQLite, and for every
signed upload, the checks run in a read session and the write transaction confirms them. These
tests act as careless or hostile users on that path: a name two users claim at the same moment,
someone else's package, a quarantined package, a package whose own policy wants a signature.
Each refusal leaves no blob, no row and no audit event; each answer is the one the two-step
path gives.
"""

from __future__ import annotations

from functools import partial

import pytest
from sqlalchemy import update
from sqlmodel import col

from app.core.db import session_scope
from app.core.models import Package
from app.publishing.publish import ONE_TRANSACTION_MAX_BYTES
from tests.conftest import Actors, state_counts
from tests.functional.helpers import assert_problem, at_once, package_owners, publish
from tests.support.server import RunningServer

# The suite's upload cap (1 MiB) is raised so that one test can cross the size over which the
# bytes are stored outside the transaction.
pytestmark = pytest.mark.parametrize(
    "settings_overrides",
    [{"default_signature_policy": "none", "max_upload_bytes": 4 * 1024 * 1024}], indirect=True)


def test_two_users_claiming_one_new_name_at_once_leave_one_owner(actors: Actors,
                                                                 server: RunningServer) -> None:
    """alice and bob publish the same new name unsigned at the same moment, several rounds
    with the head start alternating: the unique name decides; the loser gets 403 and its
    version, blob and audit events are not added to the winner's package."""
    clients = {"alice": actors.client(actors.user("alice")),
               "bob": actors.client(actors.user("bob"))}
    for round_ in range(6):
        name = f"contested-{round_}"
        before = state_counts(server)
        data = {who: f"{who} {name}".encode() for who in clients}
        results = at_once({
            "alice": partial(publish, clients["alice"], name, "1.0.0", data["alice"],
                             signed=False),
            "bob": partial(publish, clients["bob"], name, "2.0.0", data["bob"], signed=False),
        }, reverse=bool(round_ % 2))
        winners = [who for who, status in results.items() if status == 201]
        assert len(winners) == 1, results
        loser = "bob" if winners == ["alice"] else "alice"
        assert results[loser] == 403, results
        assert package_owners(server, name) == {winners[0]}
        versions = [v["version"] for v in
                    actors.client().get(f"/api/v1/packages/{name}").json()["versions"]]
        assert versions == (["1.0.0"] if winners == ["alice"] else ["2.0.0"])
        after = state_counts(server)
        # One version, one blob row, one stored blob; the loser wrote no audit event.
        assert (after.versions, after.blobs_rows, after.blob_files) == (
            before.versions + 1, before.blobs_rows + 1, before.blob_files + 1)
        # The winner's package:create and version:publish; none of the loser's.
        assert after.audit_events == before.audit_events + 2


def test_a_version_into_someone_elses_package_is_refused_and_leaves_nothing(
        actors: Actors, server: RunningServer) -> None:
    alice = actors.client(actors.user("alice"))
    bob = actors.client(actors.user("bob"))
    assert publish(alice, "widget", "1.0.0", signed=False).status_code == 201
    before = state_counts(server)
    response = publish(bob, "widget", "1.0.1", b"bob's bytes", signed=False)
    assert_problem(response, 403, "forbidden")
    assert "not an owner of widget" in response.json()["detail"]
    assert state_counts(server) == before


def test_a_quarantined_package_takes_no_unsigned_version(actors: Actors,
                                                         server: RunningServer) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "widget", "1.0.0", signed=False).status_code == 201
    with session_scope(server.registry.engine, write=True) as session:
        session.execute(update(Package).where(col(Package.name) == "widget")
                        .values(status="quarantined"))
    before = state_counts(server)
    response = publish(alice, "widget", "1.0.1", b"new bytes", signed=False)
    assert_problem(response, 403, "forbidden")
    assert "quarantined" in response.json()["detail"]
    assert state_counts(server) == before


def test_a_package_that_requires_a_signature_refuses_an_unsigned_upload(
        actors: Actors, server: RunningServer) -> None:
    """The registry's default lets unsigned uploads in; the package's own policy does not."""
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "widget", "1.0.0", signed=False).status_code == 201
    assert alice.put("/api/v1/signature-policies",
                     json={"target": "widget", "policy": "gpg"}).status_code == 200
    before = state_counts(server)
    response = publish(alice, "widget", "1.0.1", b"new bytes", signed=False)
    assert_problem(response, 400, "signature_required")
    assert state_counts(server) == before
    assert publish(alice, "widget", "1.0.1", b"new bytes").status_code == 201  # signed: in


def test_a_taken_version_is_refused_unsigned_as_signed(actors: Actors,
                                                       server: RunningServer) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "widget", "1.0.0", signed=False).status_code == 201
    before = state_counts(server)
    assert_problem(publish(alice, "widget", "1.0.0", b"other bytes", signed=False), 409,
                   "version_exists")
    assert state_counts(server) == before


def test_a_large_unsigned_upload_publishes_whole(actors: Actors, server: RunningServer) -> None:
    """Over ``ONE_TRANSACTION_MAX_BYTES`` the bytes are stored before the recording
    transaction (its fsync holds no connection); the result is the same."""
    alice = actors.client(actors.user("alice"))
    data = bytes(range(256)) * (ONE_TRANSACTION_MAX_BYTES // 256 + 1)
    assert publish(alice, "bulky", "1.0.0", data, signed=False).status_code == 201
    response = alice.get("/api/v1/packages/bulky/versions/1.0.0/artifact")
    assert response.status_code == 200
    assert response.content == data
    bob = actors.client(actors.user("bob"))
    before = state_counts(server)
    assert_problem(publish(bob, "bulky", "1.0.1", data + b"!", signed=False), 403,
                   "forbidden")
    assert state_counts(server) == before
