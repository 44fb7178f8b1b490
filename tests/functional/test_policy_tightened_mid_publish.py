"""A signature policy tightened while a publish's signature is being verified governs it.

The read session reads the policy (package, pending, @scope, registry default) and prepares the
check; the cryptography then runs with no session (issue 11). An owner who tightens the policy
meanwhile ("Sigstore bundles are no longer enough: GPG only") must not see a version land under
the old rule: the write transaction reads the policy again and refuses evidence of a method the
policy no longer accepts, with the same 400 ``signature_method_not_allowed`` as an upload sent
after the change, and nothing but the policy change is left behind.

The verifier is the real one with the local Sigstore instance's trust root (the ``server``
and ``hook`` fixtures of ``test_publisher_lost_mid_verification``); its online-log hook, which
runs inside the verification after the read session closed, sends the owner's policy change
through the API from a second client, as a concurrent request would.
"""

from __future__ import annotations

from dataclasses import replace

import httpx

from tests.conftest import Actors, StateCounts, state_counts
from tests.functional import test_publisher_lost_mid_verification as mid
from tests.functional.helpers import assert_problem
from tests.functional.test_publisher_lost_mid_verification import (
    ALICE_CI,
    MidVerification,
    _register,
    _signed,
)
from tests.support.sigstore_local import SigstoreInstance

# The real verifier with a hook inside the verification, and that hook (same fixtures).
server, hook = mid.server, mid.hook


def _tighten(client: httpx.Client, target: str, policy: str) -> None:
    answer = client.put("/api/v1/signature-policies", json={"target": target, "policy": policy})
    assert answer.status_code == 200, answer.text


def _one_more_event(before: StateCounts) -> StateCounts:
    """``before`` plus the policy change's own audit event, and nothing else."""
    return replace(before, audit_events=before.audit_events + 1)


def _versions(client: httpx.Client, name: str) -> list[str]:
    return [v["version"] for v in client.get(f"/api/v1/packages/{name}").json()["versions"]]


def test_a_package_policy_set_to_gpg_during_verification_refuses_the_bundle(
        actors: Actors, sigstore_instance: SigstoreInstance, hook: MidVerification) -> None:
    token = actors.user("alice")
    alice, owner_elsewhere = actors.client(token), actors.client(token)
    _register(alice, "widget", ALICE_CI)
    assert _signed(alice, sigstore_instance, "widget", "1.0.0", ALICE_CI).status_code == 201

    before = state_counts(actors.server)
    hook.action = lambda: _tighten(owner_elsewhere, "widget", "gpg")
    body = assert_problem(_signed(alice, sigstore_instance, "widget", "1.1.0", ALICE_CI),
                          400, "signature_method_not_allowed")
    assert hook.ran == 1
    assert "only GPG" in body["detail"]
    assert state_counts(actors.server) == _one_more_event(before)
    assert _versions(alice, "widget") == ["1.0.0"]
    # The same bundle sent after the change is refused the same way: the refusal is the policy.
    assert_problem(_signed(alice, sigstore_instance, "widget", "1.1.0", ALICE_CI),
                   400, "signature_method_not_allowed")


def test_a_scope_policy_set_to_gpg_during_verification_refuses_the_bundle(
        actors: Actors, sigstore_instance: SigstoreInstance, hook: MidVerification) -> None:
    token = actors.user("olga")
    olga, owner_elsewhere = actors.client(token), actors.client(token)
    assert olga.post("/api/v1/orgs", json={"name": "acme"}).status_code == 201
    _register(olga, "@acme", ALICE_CI)
    assert _signed(olga, sigstore_instance, "@acme/tool", "1.0.0", ALICE_CI).status_code == 201

    before = state_counts(actors.server)
    hook.action = lambda: _tighten(owner_elsewhere, "@acme", "gpg")
    assert_problem(_signed(olga, sigstore_instance, "@acme/tool", "1.0.1", ALICE_CI),
                   400, "signature_method_not_allowed")
    assert hook.ran == 1
    assert state_counts(actors.server) == _one_more_event(before)
    assert _versions(olga, "@acme/tool") == ["1.0.0"]


def test_a_pending_policy_set_to_gpg_during_a_first_publish_refuses_the_bundle(
        actors: Actors, sigstore_instance: SigstoreInstance, hook: MidVerification) -> None:
    """The name is free: alice's own pending policy, set while her first upload is checked,
    governs that upload (and no package is created)."""
    token = actors.user("alice")
    alice, owner_elsewhere = actors.client(token), actors.client(token)
    _register(alice, "widget", ALICE_CI)  # a pending publisher: the name has no package yet

    before = state_counts(actors.server)
    hook.action = lambda: _tighten(owner_elsewhere, "widget", "gpg")
    assert_problem(_signed(alice, sigstore_instance, "widget", "1.0.0", ALICE_CI),
                   400, "signature_method_not_allowed")
    assert hook.ran == 1
    assert state_counts(actors.server) == _one_more_event(before)
    assert_problem(alice.get("/api/v1/packages/widget"), 404, "package_not_found")


def test_a_policy_loosened_during_verification_still_takes_the_version(
        actors: Actors, sigstore_instance: SigstoreInstance, hook: MidVerification) -> None:
    """The re-check refuses only what the policy now refuses: sigstore → any keeps a Sigstore
    upload valid."""
    token = actors.user("alice")
    alice, owner_elsewhere = actors.client(token), actors.client(token)
    _register(alice, "widget", ALICE_CI)
    _tighten(alice, "widget", "sigstore")
    assert _signed(alice, sigstore_instance, "widget", "1.0.0", ALICE_CI).status_code == 201

    hook.action = lambda: _tighten(owner_elsewhere, "widget", "any")
    assert _signed(alice, sigstore_instance, "widget", "1.1.0", ALICE_CI).status_code == 201
    assert hook.ran == 1
    assert _versions(alice, "widget") == ["1.0.0", "1.1.0"]
