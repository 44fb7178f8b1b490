"""`vouch trusted-publisher`, `vouch gpg-key`, `vouch policy` and `vouch trust refresh`, run
as real subprocesses against the test server (exit codes: 0 ok, 1 refused, 2 usage,
3 unreachable)."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Actors
from tests.functional.clihelp import cli_env, vouch
from tests.functional.helpers import publish
from tests.unit.signing.gpg_keys import Keyring, past


@pytest.fixture
def keyring() -> Iterator[Keyring]:
    ring = Keyring()
    yield ring
    ring.close()


def test_trusted_publishers_add_list_remove(actors: Actors, tmp_path: Path) -> None:
    env = cli_env(actors.server.url, actors.user("alice"), tmp_path)
    added = vouch("trusted-publisher", "add", "widget", "--repository", "acme/widget",
                  "--workflow", "release.yml", "--ref", "refs/tags/v*", "--json",
                  env=env, cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    publisher = json.loads(added.stdout)
    assert (publisher["package"], publisher["ref_pattern"]) == ("widget", "refs/tags/v*")

    listed = vouch("trusted-publisher", "list", "widget", env=env, cwd=tmp_path)
    assert listed.returncode == 0
    assert "github:acme/widget/.github/workflows/release.yml" in listed.stdout
    assert "ref=refs/tags/v*" in listed.stdout

    removed = vouch("trusted-publisher", "remove", str(publisher["id"]), env=env, cwd=tmp_path)
    assert removed.returncode == 0, removed.stderr
    after = vouch("trusted-publisher", "list", "widget", "--json", env=env, cwd=tmp_path)
    assert json.loads(after.stdout) == []
    missing = vouch("trusted-publisher", "remove", str(publisher["id"]), env=env, cwd=tmp_path)
    assert missing.returncode == 1 and "not_found" in missing.stderr


def test_trusted_publisher_refusals_and_usage_errors(actors: Actors, tmp_path: Path) -> None:
    alice = cli_env(actors.server.url, actors.user("alice"), tmp_path)
    bob = cli_env(actors.server.url, actors.user("bob"), tmp_path)
    assert publish(actors.client(actors.token("alice")), "widget", "1.0.0").status_code == 201
    refused = vouch("trusted-publisher", "add", "widget", "--repository", "evil/widget",
                    "--workflow", "release.yml", env=bob, cwd=tmp_path)
    assert refused.returncode == 1 and "forbidden" in refused.stderr
    malformed = vouch("trusted-publisher", "add", "widget", "--repository", "not a repo",
                      "--workflow", "release.yml", env=alice, cwd=tmp_path)
    assert malformed.returncode == 1 and "malformed_input" in malformed.stderr
    no_token = cli_env(actors.server.url, None, tmp_path)
    unauthenticated = vouch("trusted-publisher", "add", "widget", "--repository", "acme/w",
                            "--workflow", "r.yml", env=no_token, cwd=tmp_path)
    assert unauthenticated.returncode == 2
    missing_option = vouch("trusted-publisher", "add", "widget", "--repository", "acme/w",
                           env=alice, cwd=tmp_path)
    assert missing_option.returncode == 2


def test_gpg_keys_add_list_revoke(actors: Actors, tmp_path: Path, keyring: Keyring) -> None:
    env = cli_env(actors.server.url, actors.user("alice"), tmp_path)
    env["GNUPGHOME"] = str(keyring.home)  # the CLI signs the registry's challenge with gpg
    first = keyring.make("Alice <alice@example.com>", faked=past(1))
    second = keyring.make("Alice Laptop <alice@laptop.example>", faked=past(1))
    key_file = tmp_path / "alice.asc"
    key_file.write_text(first.public)
    added = vouch("gpg-key", "add", str(key_file), "--json", env=env, cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["fingerprint"] == first.fingerprint
    from_stdin = subprocess.run([sys.executable, "-m", "client.cli", "gpg-key", "add", "-"],
                                input=second.public, env=env, cwd=tmp_path,
                                capture_output=True, text=True, timeout=120)
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert second.fingerprint in from_stdin.stdout

    duplicate = vouch("gpg-key", "add", str(key_file), env=env, cwd=tmp_path)
    assert duplicate.returncode == 1 and "already_exists" in duplicate.stderr
    garbage = tmp_path / "garbage.asc"
    garbage.write_text("not a key")
    assert "invalid_gpg_key" in vouch("gpg-key", "add", str(garbage), env=env,
                                      cwd=tmp_path).stderr
    assert vouch("gpg-key", "add", str(tmp_path / "nope.asc"), env=env,
                 cwd=tmp_path).returncode == 2

    revoked = vouch("gpg-key", "revoke", first.fingerprint, env=env, cwd=tmp_path)
    assert revoked.returncode == 0, revoked.stderr
    keys = json.loads(vouch("gpg-key", "list", "--json", env=env, cwd=tmp_path).stdout)
    state = {k["fingerprint"]: k["revoked_at"] is not None for k in keys}
    assert (state[first.fingerprint], state[second.fingerprint]) == (True, False)
    listed = vouch("gpg-key", "list", env=env, cwd=tmp_path).stdout
    assert f"{first.fingerprint}  revoked" in listed
    assert f"{second.fingerprint}  active" in listed


def test_policy_set(actors: Actors, tmp_path: Path) -> None:
    token = actors.user("alice")
    env = cli_env(actors.server.url, token, tmp_path)
    client = actors.client(token)
    assert publish(client, "widget", "1.0.0").status_code == 201
    result = vouch("policy", "set", "widget", "gpg", "--json", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"target": "widget", "policy": "gpg",
                                         "pending_expires_at": None}
    assert vouch("policy", "set", "widget", "sigstore", env=env, cwd=tmp_path).returncode == 0
    # The registry now refuses alice's GPG-signed publishes of widget (the default takes both).
    refused = publish(client, "widget", "1.1.0")
    assert refused.status_code == 400 and refused.json()["code"] == "signature_method_not_allowed"
    assert vouch("policy", "set", "widget", "default", env=env, cwd=tmp_path).returncode == 0
    assert publish(client, "widget", "1.1.0").status_code == 201
    unknown = vouch("policy", "set", "widget", "whatever", env=env, cwd=tmp_path)
    # The registry owns the names; its refusal reaches the user whole, and nothing changed.
    assert unknown.returncode == 1
    assert "malformed_input: policy is one of sigstore, gpg, any, none" in unknown.stderr
    assert publish(client, "widget", "1.2.0").status_code == 201


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_trust_refresh_without_network_says_so_and_keeps_the_pinned_root(
        tmp_path: Path, sigstore_trusted_root_path: Path) -> None:
    env = cli_env("http://127.0.0.1:9", None, tmp_path)
    pinned = tmp_path / "trusted_root.json"
    pinned.write_bytes(sigstore_trusted_root_path.read_bytes())
    before = _sha256(pinned)
    with socket.socket() as sock:  # a loopback port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    root = Path(__file__).resolve().parents[2] / "signing" / "data" / "tuf-root.public-good.json"
    result = vouch("trust", "refresh", "--output", str(pinned), "--tuf-url",
                   f"http://127.0.0.1:{port}", "--bootstrap-root", str(root),
                   env=env, cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert "no network" in result.stderr
    assert "left unchanged" in result.stderr
    assert _sha256(pinned) == before

    usage = vouch("trust", "refresh", "--output", str(pinned), "--tuf-url",
                  "http://127.0.0.1:9", env=env, cwd=tmp_path)
    assert usage.returncode == 2 and "--bootstrap-root" in usage.stderr
