"""Issue 12, the client side: what a newcomer types into `vouch`, run as a real subprocess
against the real server. Messages keep their words, mistakes are clean usage errors (exit 2),
a bad token does not block public reads, and `vouch install NAME` works as on npm."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import tempfile
import tomllib
from pathlib import Path

import httpx
import pytest

from tests.conftest import Actors
from tests.functional.clihelp import ROOT, cli_env, publish_args, vouch
from tests.functional.helpers import publish


def _env(actors: Actors, token: str | None, tmp_path: Path) -> dict[str, str]:
    return cli_env(actors.server.url, token, tmp_path)


def _no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr, done.stderr


# -- 1. messages keep their square brackets ------------------------------------------------
def test_user_and_server_text_keep_square_brackets(actors: Actors, tmp_path: Path) -> None:
    token = actors.user("alice")
    env = _env(actors, token, tmp_path)
    missing = vouch("lock", env=env, cwd=tmp_path)
    assert missing.returncode == 2
    assert "declare [dependencies] there" in missing.stderr, missing.stderr
    (tmp_path / "vouch.toml").write_text("[dependencies]\nleft-pad = 1\n")
    bad = vouch("lock", env=env, cwd=tmp_path)
    assert bad.returncode == 2 and "[dependencies] maps package names" in bad.stderr

    alice = actors.client(token)
    assert publish(alice, "brackets", "1.0.0", b"b").status_code == 201
    message = "use [v2] now; pattern ^(0|[a-f0-9]{40}|[a-f0-9]{64})$ [bold]x[/]"
    done = vouch("deprecate", "brackets@1.0.0", "-m", message, env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    shown = vouch("info", "brackets@1.0.0", env=env, cwd=tmp_path)
    assert message in shown.stdout, shown.stdout
    listed = vouch("info", "brackets", env=env, cwd=tmp_path)
    assert message in listed.stdout
    # A server error holding brackets reaches stderr literally too.
    refused = vouch("deprecate", "brackets@9.9.9", "-m", "[x]", env=env, cwd=tmp_path)
    assert (refused.returncode == 1 and "brackets@9.9.9" in refused.stderr) or \
        "9.9.9" in refused.stderr


# -- 2. vouch.toml: unknown tables and keys -----------------------------------------------
@pytest.mark.parametrize("manifest, named", [
    ('[deps]\nleft-pad = "^1.0.0"\n', "[deps]"),
    ('name = "app"\n[dependencies]\n', "name"),
])
def test_unknown_tables_and_keys_in_vouch_toml_are_usage_errors(
        actors: Actors, tmp_path: Path, manifest: str, named: str) -> None:
    env = _env(actors, None, tmp_path)
    (tmp_path / "vouch.toml").write_text(manifest)
    for command in ("lock", "install"):
        done = vouch(command, env=env, cwd=tmp_path)
        assert done.returncode == 2, done.stdout + done.stderr
        assert named in done.stderr and "[dependencies]" in done.stderr, done.stderr
        _no_traceback(done)
    assert not (tmp_path / "vouch.lock").exists()
    assert not (tmp_path / "vouch_modules").exists()


# -- 3. validation details, audit log newest first with paging -----------------------------
def test_validation_details_reach_the_user(actors: Actors, tmp_path: Path) -> None:
    env = _env(actors, None, tmp_path)
    done = vouch("search", "x" * 300, env=env, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "422 validation_error" in done.stderr
    assert "q: " in done.stderr and "200" in done.stderr, done.stderr


def test_audit_log_is_newest_first_and_pages_back(actors: Actors, tmp_path: Path) -> None:
    root = actors.user("root", admin=True)
    alice = actors.client(actors.user("alice"))
    for n in range(5):
        assert publish(alice, f"audited{n}", "1.0.0", b"a%d" % n).status_code == 201
    env = _env(actors, root, tmp_path)
    everything = json.loads(vouch("audit-log", "--json", "--limit", "1000", env=env,
                                  cwd=tmp_path).stdout)
    ids = [e["id"] for e in everything]
    assert ids == sorted(ids, reverse=True) and len(ids) >= 5
    first = vouch("audit-log", "--limit", "2", "--action", "version:publish", "--json", env=env,
                  cwd=tmp_path)
    page = json.loads(first.stdout)
    assert [e["package"] for e in page] == ["audited4", "audited3"]
    human = vouch("audit-log", "--limit", "2", "--action", "version:publish", env=env, cwd=tmp_path)
    assert human.stdout.index("audited4") < human.stdout.index("audited3")
    assert f"--before {page[-1]['id']}" in human.stderr
    older = json.loads(vouch("audit-log", "--limit", "2", "--action", "version:publish", "--before",
                             str(page[-1]["id"]), "--json", env=env, cwd=tmp_path).stdout)
    assert [e["package"] for e in older] == ["audited2", "audited1"]
    too_many = vouch("audit-log", "--limit", "5000", env=env, cwd=tmp_path)
    assert too_many.returncode == 2 and "1000" in too_many.stderr


def test_audit_log_at_the_largest_page_says_whether_older_events_exist(
        actors: Actors, tmp_path: Path) -> None:
    """A full page of 1,000 (the registry's largest) cannot carry one more event to tell
    whether older ones exist: the client asks, and says so, and says when none are left."""
    root = actors.user("root", admin=True)  # user:create + token:create
    with actors.client(root) as admin:
        for n in range(1000):
            assert admin.post("/api/v1/tokens", json={"name": f"t{n}"}).status_code == 201
    env = _env(actors, root, tmp_path)
    newest = vouch("audit-log", "--limit", "1000", "--json", env=env, cwd=tmp_path)
    page = json.loads(newest.stdout)
    assert len(page) == 1000 and page[0]["id"] > page[-1]["id"]
    human = vouch("audit-log", "--limit", "1000", env=env, cwd=tmp_path)
    assert human.returncode == 0, human.stderr
    last = page[-1]["id"]
    assert f"older events exist: vouch audit-log --limit 1000 --before {last}" in human.stderr
    older = vouch("audit-log", "--limit", "1000", "--before", str(last), env=env, cwd=tmp_path)
    assert older.returncode == 0 and "older events exist" not in older.stderr, older.stderr
    total = len(page) + len(older.stdout.splitlines())
    assert total > 1000
    # exactly 1,000 events below a cursor: a full page, and nothing older
    cursor = page[total - 1001]["id"]
    exact = vouch("audit-log", "--limit", "1000", "--before", str(cursor), env=env,
                  cwd=tmp_path)
    assert len(exact.stdout.splitlines()) == 1000
    assert "older events exist" not in exact.stderr, exact.stderr
    empty = vouch("audit-log", "--before", "1", env=env, cwd=tmp_path)
    assert empty.returncode == 0 and empty.stdout == ""
    assert "no events older than that" in empty.stderr


# -- 4 and 8. publish errors name flags; missing files are usage errors ---------------------
def test_publish_errors_name_flags_and_missing_files_exit_2(actors: Actors,
                                                           tmp_path: Path) -> None:
    token = actors.user("alice")
    env = _env(actors, token, tmp_path)
    artifact = tmp_path / "tool-1.0.0.tgz"
    artifact.write_bytes(b"tool")
    unsigned = vouch("publish", "tool@1.0.0", str(artifact), env=env, cwd=tmp_path)
    assert unsigned.returncode == 1 and "signature_required" in unsigned.stderr
    assert "--bundle" in unsigned.stderr and "--gpg-signature" in unsigned.stderr
    assert "sigstore_bundle" not in unsigned.stderr and "(gpg_signature)" not in unsigned.stderr
    assert "vouch gpg-key add" in unsigned.stderr
    for args, flag in (
            (["--bundle", str(tmp_path / "nope.sigstore.json")], "--bundle"),
            (["--gpg-signature", str(tmp_path / "nope.asc")], "--gpg-signature"),
            (["--metadata", str(tmp_path / "nope.json")], "--metadata")):
        done = vouch("publish", "tool@1.0.0", str(artifact), *args, env=env, cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert flag in done.stderr and "does not exist" in done.stderr
        _no_traceback(done)
    gone = vouch("publish", "tool@1.0.0", str(tmp_path / "missing.tgz"), env=env, cwd=tmp_path)
    assert gone.returncode == 2 and "missing.tgz" in gone.stderr
    _no_traceback(gone)
    assert httpx.get(f"{actors.server.url}/api/v1/packages/tool").status_code == 404


# -- 5. --version, --json everywhere, JSON errors, search, upload progress -----------------
def test_version_json_outputs_and_json_errors(actors: Actors, tmp_path: Path) -> None:
    token = actors.user("alice")
    signer = actors.signer(token)
    env = _env(actors, token, tmp_path)
    version = vouch("--version", env=env, cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("vouch ")

    artifact = tmp_path / "jsonpkg-1.0.0.tgz"
    artifact.write_bytes(b"jp")
    assert vouch(*publish_args(signer, "jsonpkg@1.0.0", artifact), env=env,
                 cwd=tmp_path).returncode == 0
    dep = vouch("deprecate", "jsonpkg@1.0.0", "-m", "old", "--json", env=env, cwd=tmp_path)
    assert json.loads(dep.stdout)["deprecated"] == "old"
    org = vouch("org", "create", "acme", "--json", env=env, cwd=tmp_path)
    assert json.loads(org.stdout) == {"name": "acme", "scope": "@acme"}
    actors.user("bob")
    member = vouch("org", "add-member", "acme", "bob", "--role", "owner", "--json", env=env,
                   cwd=tmp_path)
    assert json.loads(member.stdout) == {"org": "acme", "user": "bob", "role": "owner"}
    added = vouch("trusted-publisher", "add", "@acme", "--repository", "acme/mono",
                  "--workflow", "publish.yml", "--json", env=env, cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    removed = vouch("trusted-publisher", "remove", str(json.loads(added.stdout)["id"]),
                    "--json", env=env, cwd=tmp_path)
    assert json.loads(removed.stdout)["removed"] is True

    search = vouch("search", "jsonpkg", "--json", env=env, cwd=tmp_path)
    assert search.returncode == 0, search.stderr
    assert [r["name"] for r in json.loads(search.stdout)["results"]][:1] == ["jsonpkg"]
    human = vouch("search", "jsonpkg", env=env, cwd=tmp_path)
    assert "jsonpkg" in human.stdout and "1.0.0" in human.stdout

    unpub = vouch("unpublish", "jsonpkg@1.0.0", "--json", env=env, cwd=tmp_path)
    assert json.loads(unpub.stdout) == {"name": "jsonpkg", "version": "1.0.0",
                                        "unpublished": True}
    again = vouch("unpublish", "jsonpkg@1.0.0", "--json", env=env, cwd=tmp_path)
    assert again.returncode == 1 and again.stdout == ""
    error = json.loads(again.stderr)["error"]
    assert error["exit_code"] == 1 and error["code"] and error["message"]
    usage = vouch("lock", "--json", env=env, cwd=tmp_path)
    assert usage.returncode == 2 and json.loads(usage.stderr)["error"]["exit_code"] == 2


@pytest.mark.parametrize("settings_overrides", [{"max_upload_bytes": 16 * 1024 * 1024}],
                         indirect=True)
def test_large_publish_draws_a_progress_bar_on_stderr(actors: Actors, tmp_path: Path) -> None:
    token = actors.user("alice")
    env = dict(_env(actors, token, tmp_path), VOUCH_PROGRESS="1")
    artifact = tmp_path / "big-1.0.0.bin"
    artifact.write_bytes(b"\0" * (5 * 1024 * 1024))
    done = vouch(*publish_args(actors.signer(token), "big@1.0.0", artifact), env=env,
                 cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "uploading big@1.0.0" in done.stderr and "5.2 MB" in done.stderr
    small = tmp_path / "small-1.0.0.bin"
    small.write_bytes(b"s")
    quiet = vouch(*publish_args(actors.signer(token), "small@1.0.0", small), env=env,
                  cwd=tmp_path)
    assert quiet.returncode == 0 and "uploading" not in quiet.stderr


# -- 6. a malformed or revoked token ---------------------------------------------------------
def test_a_bad_token_does_not_block_public_reads(actors: Actors, tmp_path: Path) -> None:
    token = actors.user("alice")
    assert publish(actors.client(token), "public", "1.0.0", b"p").status_code == 201
    revoked = actors.token("alice")
    me = httpx.get(f"{actors.server.url}/api/v1/tokens",
                   headers={"Authorization": f"Bearer {revoked}"}).json()
    newest = max(t["id"] for t in me)
    assert httpx.delete(f"{actors.server.url}/api/v1/tokens/{newest}",
                        headers={"Authorization": f"Bearer {token}"}).status_code == 204
    for bad in ("not-a-token", revoked):
        env = _env(actors, bad, tmp_path)
        direct = httpx.get(f"{actors.server.url}/api/v1/packages/public/versions/1.0.0",
                           headers={"Authorization": f"Bearer {bad}"})
        shown = vouch("info", "public@1.0.0", "--json", env=env, cwd=tmp_path)
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["version"] == "1.0.0"
        assert bad not in shown.stderr  # never echoed
        if direct.status_code == 401:
            # The registry refuses the token even on a public read: the client retries
            # without it, once, and says how to fix the token.
            assert direct.json()["code"] == "invalid_token"
            assert shown.stderr.count("warning: the registry refused VOUCH_TOKEN") == 1
            assert "unset VOUCH_TOKEN" in shown.stderr
            assert "vouch admin create-token" in shown.stderr
        else:
            assert direct.status_code == 200 and shown.stderr == ""
        listed = vouch("search", "public", env=env, cwd=tmp_path)
        assert listed.returncode == 0 and "public" in listed.stdout, listed.stderr
        project = tmp_path / f"app-{len(bad)}"
        project.mkdir()
        installed = vouch("install", "public", env=env, cwd=project)
        assert installed.returncode == 0, installed.stderr
        write = vouch("deprecate", "public@1.0.0", "-m", "x", env=env, cwd=tmp_path)
        assert write.returncode == 1 and "invalid_token" in write.stderr
        assert "unset VOUCH_TOKEN" in write.stderr and bad not in write.stderr
    assert httpx.get(f"{actors.server.url}/api/v1/packages/public/versions/1.0.0"
                     ).json()["deprecated"] is None


# -- 7. vouch admin never creates a database by accident ----------------------------------
def test_admin_refuses_a_directory_without_a_database(tmp_path: Path) -> None:
    env = cli_env("http://127.0.0.1:9", None, tmp_path)
    env.pop("VOUCH_DATABASE_URL", None)
    env.pop("VOUCH_DATA_DIR", None)
    for args in (["create-user", "root", "--admin"], ["create-token", "root"],
                 ["sweep-blobs"]):
        done = vouch("admin", *args, env=env, cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert "VOUCH_DATA_DIR" in done.stderr and "VOUCH_DATABASE_URL" in done.stderr
        _no_traceback(done)
    assert not (tmp_path / "var").exists()
    made = vouch("admin", "--create", "create-user", "root", "--admin", "--json", env=env,
                 cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout) == {"name": "root", "admin": True, "security": False}
    users = sqlite3.connect(tmp_path / "var" / "vouch.db").execute(
        "select name from users").fetchall()
    assert users == [("root",)]
    other = tmp_path / "other"
    other.mkdir()
    assert vouch("admin", "migrate", env=env, cwd=other).returncode == 0
    assert (other / "var" / "vouch.db").is_file()
    assert vouch("admin", "create-user", "eve", env=env, cwd=other).returncode == 0


# -- 9 and 10. vouch install NAME; preferring versions that pass the policy ----------------
def test_install_names_adds_locks_and_installs(actors: Actors, tmp_path: Path) -> None:
    token = actors.user("alice")
    alice = actors.client(token)
    for version in ("1.0.0", "1.2.0"):
        assert publish(alice, "left-pad", version, b"pad " + version.encode()).status_code == 201
    assert publish(alice, "is-odd", "3.0.0", b"odd").status_code == 201
    project = tmp_path / "app"
    project.mkdir()
    env = _env(actors, None, tmp_path)
    # As the package pages say: `vouch install NAME@VERSION` (an exact range), or a bare name.
    done = vouch("install", "left-pad", "is-odd@3.0.0", "--json", env=env, cwd=project)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert sorted(p["name"] for p in result["installed"]) == ["is-odd", "left-pad"]
    manifest = tomllib.loads((project / "vouch.toml").read_text())
    assert manifest == {"dependencies": {"left-pad": "^1.2.0", "is-odd": "3.0.0"}}
    assert (project / "vouch.lock").is_file()
    assert (project / "vouch_modules" / "left-pad" / "left-pad-1.2.0").read_bytes() == \
        b"pad 1.2.0"
    # `vouch install` with no names installs what is locked; vouch lock agrees with the toml.
    again = vouch("install", env=env, cwd=project)
    assert again.returncode == 0, again.stderr
    assert vouch("lock", "--json", env=env, cwd=project).returncode == 0

    # A tampered cache entry is reported by name, then fetched again.
    cached = next(p for p in (tmp_path / "cache" / "artifacts").rglob("*") if p.is_file()
                  and p.read_bytes() in (b"pad 1.2.0", b"odd"))
    victim = "left-pad@1.2.0" if cached.read_bytes() == b"pad 1.2.0" else "is-odd@3.0.0"
    cached.write_bytes(b"evil")
    repaired = vouch("install", env=env, cwd=project)
    assert repaired.returncode == 0, repaired.stderr
    assert "warning" in repaired.stderr and victim in repaired.stderr
    assert "tampered" in repaired.stderr


@pytest.mark.parametrize("settings_overrides", [{"default_signature_policy": "none"}],
                         indirect=True)
def test_lock_prefers_signed_versions_and_hints_narrowly(actors: Actors,
                                                         tmp_path: Path) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "mixed", "1.0.0", b"signed").status_code == 201
    assert publish(alice, "mixed", "1.1.0", b"unsigned", signed=False).status_code == 201
    project = tmp_path / "app"
    project.mkdir()
    env = _env(actors, None, tmp_path)
    (project / "vouch.toml").write_text('[dependencies]\nmixed = "^1.0.0"\n')
    locked = json.loads(vouch("lock", "--json", env=env, cwd=project).stdout)
    assert [(p["name"], p["version"]) for p in locked["packages"]] == [("mixed", "1.0.0")]
    assert locked["notes"] == []
    assert vouch("install", env=env, cwd=project).returncode == 0
    assert (project / "vouch_modules" / "mixed" / "mixed-1.0.0").read_bytes() == b"signed"
    loose = json.loads(vouch("lock", "--allow-unsigned", "--json", env=env,
                             cwd=project).stdout)
    assert [p["version"] for p in loose["packages"]] == ["1.1.0"]

    # Only an unsigned version satisfies the range: lock says so, install names the flag.
    (project / "vouch.toml").write_text('[dependencies]\nmixed = "^1.1.0"\n')
    (project / "vouch.lock").unlink()
    fallback = vouch("lock", env=env, cwd=project)
    assert fallback.returncode == 0, fallback.stderr
    assert "mixed@1.1.0 is unsigned" in fallback.stderr
    (project / "vouch.lock").unlink()
    refused = vouch("install", env=env, cwd=project)
    assert refused.returncode == 1
    assert "--allow-unsigned" in refused.stderr and "--no-verify" not in refused.stderr
    assert not (project / "vouch_modules" / "mixed" / "mixed-1.1.0").exists()
    accepted = vouch("install", "--allow-unsigned", env=env, cwd=project)
    assert accepted.returncode == 0, accepted.stderr


# -- 9 and 11. advisories: info shows them, install --ignore accepts one --------------------
def test_info_shows_advisories_and_install_takes_ignore(actors: Actors,
                                                        tmp_path: Path) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "holey", "1.0.0", b"holey").status_code == 201
    sec_env = _env(actors, actors.user("sec", security=True), tmp_path)
    made = vouch("advisory", "new", "--package", "holey", "--introduced", "0", "--fixed",
                 "2.0.0", "--summary", "reads [secrets] from env", "--json", env=sec_env,
                 cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    advisory_id = json.loads(made.stdout)["id"]
    assert vouch("advisory", "publish", advisory_id, env=sec_env,
                 cwd=tmp_path).returncode == 0
    env = _env(actors, None, tmp_path)
    shown = vouch("info", "holey@1.0.0", env=env, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert advisory_id in shown.stdout and "reads [secrets] from env" in shown.stdout

    project = tmp_path / "app"
    project.mkdir()
    refused = vouch("install", "holey@^1.0.0", env=env, cwd=project)
    assert refused.returncode == 1
    assert f"--ignore {advisory_id}:" in refused.stderr and "--no-verify" not in refused.stderr
    assert not (project / "vouch_modules").exists()
    assert not (project / "vouch.toml").exists()  # nothing recorded for a refused install
    ok = vouch("install", "holey@^1.0.0", "--ignore", f"{advisory_id}:2099-01-01:not used",
               env=env, cwd=project)
    assert ok.returncode == 0, ok.stderr
    assert (project / "vouch_modules" / "holey").is_dir()


# -- found walking the README on a fresh clone ----------------------------------------------
def test_lock_reads_fresh_metadata(actors: Actors, tmp_path: Path) -> None:
    """A version unpublished (and its fix published) a moment ago: `vouch install NAME@RANGE`
    in a new project, sharing the client cache with an earlier lock, picks the fix. Before,
    lock reused minutes-old metadata, picked the gone version, and the lockfile check failed."""
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "freshy", "1.0.0", b"old").status_code == 201
    env = _env(actors, None, tmp_path)
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    assert vouch("install", "freshy@^1.0.0", env=env, cwd=first).returncode == 0
    assert alice.delete("/api/v1/packages/freshy/versions/1.0.0").status_code == 204
    assert publish(alice, "freshy", "1.0.1", b"new").status_code == 201
    done = vouch("install", "freshy@^1.0.0", env=env, cwd=second)
    assert done.returncode == 0, done.stderr
    assert "installed 1 package into vouch_modules/" in done.stdout
    locked = tomllib.loads((second / "vouch.lock").read_text())
    assert [(p["name"], p["version"]) for p in locked["package"]] == [("freshy", "1.0.1")]
    assert (second / "vouch_modules" / "freshy" / "freshy-1.0.1").read_bytes() == b"new"
    # The first project's lockfile still pins the unpublished 1.0.0: say why, and what to do.
    stale = vouch("install", env=env, cwd=first)
    assert stale.returncode == 1
    assert "freshy@1.0.0 is not available from the registry (unpublished)" in stale.stderr
    assert "run `vouch lock`" in stale.stderr and "--no-verify" not in stale.stderr
    relocked = vouch("lock", env=env, cwd=first)
    assert relocked.returncode == 0 and "locked 1 package in vouch.lock" in relocked.stdout
    assert vouch("install", env=env, cwd=first).returncode == 0
    assert (first / "vouch_modules" / "freshy" / "freshy-1.0.1").read_bytes() == b"new"


def test_walked_outputs_say_what_they_mean(actors: Actors, tmp_path: Path) -> None:
    """Pending GitHub publishers say they are pending, as identity ones do; `vouch info` shows
    "-" for an absent license, not "None"; `vouch verify` shows a GPG key's name as the key's
    own unchecked claim; the audit log names the org, advisory or user of an event that is not
    about a package."""
    root = actors.user("root", admin=True)
    env = _env(actors, root, tmp_path)
    for args in (["org", "create", "acme"],
                 ["trusted-publisher", "add", "future", "--repository", "acme/future",
                  "--workflow", "release.yml"],
                 ["trusted-publisher", "add", "future", "--identity", "a@tny.town", "--issuer",
                  "https://github.com/login/oauth"]):
        assert vouch(*args, env=env, cwd=tmp_path).returncode == 0
    listed = vouch("trusted-publisher", "list", "future", env=env, cwd=tmp_path).stdout
    lines = [line for line in listed.splitlines() if line.strip()]
    assert len(lines) == 2 and all("pending until" in line for line in lines), listed

    alice = actors.client(actors.user("alice"))
    assert publish(alice, "plain", "1.0.0", b"plain").status_code == 201
    shown = vouch("info", "plain@1.0.0", env=env, cwd=tmp_path).stdout
    assert "None" not in shown and re.search(r"license\s+-\n", shown), shown
    verified = vouch("verify", "plain@1.0.0", env=env, cwd=tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "(the key calls itself " in verified.stdout and "; unchecked)" in verified.stdout

    log = vouch("audit-log", "--limit", "50", env=env, cwd=tmp_path).stdout
    org_line = next(line for line in log.splitlines() if "org:create" in line)
    assert org_line.rstrip().endswith("@acme")
    user_line = next(line for line in log.splitlines() if "user:create" in line)
    assert re.search(r"user (root|alice)$", user_line.rstrip()), user_line


# -- 12. make serve takes PORT and HOST ----------------------------------------------------
def test_make_serve_takes_port_and_host() -> None:
    done = subprocess.run(["make", "-n", "serve", "PORT=9123", "HOST=0.0.0.0"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "serve --host 0.0.0.0 --port 9123" in done.stdout
    assert "make serve PORT=" in (ROOT / "README.md").read_text()


# -- the README's First steps, run as written ----------------------------------------------
def _first_steps_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## First steps"):]
    return section[section.index("```sh\n") + 6:section.index("\n```", section.index("```sh"))]


def test_readme_first_steps_work_as_written(tmp_path: Path) -> None:
    """A scratch checkout (its own ./var, the repository's .venv), `make serve`'s command on
    a free port, a fresh GNUPGHOME: every line of the README's First steps, in order."""
    from tests.support.vouch_process import VouchProcess, process_env

    scratch = tmp_path / "clone"
    scratch.mkdir()
    (scratch / ".venv").symlink_to(ROOT / ".venv")
    for source_dir in ("app", "client"):  # the checkout's own packages: nothing lands there
        (scratch / source_dir).mkdir()
        (scratch / source_dir / "__init__.py").write_text("")
    gnupg = Path(tempfile.mkdtemp(prefix="vrd-", dir="/tmp"))
    gnupg.chmod(0o700)
    serve_env = {"VOUCH_DATA_DIR": str(scratch / "var")}
    try:
        with VouchProcess.serve(serve_env, log=tmp_path / "serve.log") as server:
            assert server.url is not None
            script = _first_steps_block().replace("http://127.0.0.1:8000", server.url)
            env = process_env({"VOUCH_CACHE_DIR": str(tmp_path / "cache"),
                               "VOUCH_CONFIG": str(tmp_path / "none.toml")})
            env["GNUPGHOME"] = str(gnupg)
            done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=scratch,
                                  env=env, capture_output=True, text=True, timeout=600)
            assert done.returncode == 0, done.stdout + done.stderr
            shown = httpx.get(f"{server.url}/api/v1/packages/left-pad/versions/1.0.0").json()
    finally:
        subprocess.run(["gpgconf", "--homedir", str(gnupg), "--kill", "gpg-agent"],
                       capture_output=True, check=False, timeout=60)
        shutil.rmtree(gnupg, ignore_errors=True)
    assert shown["signer"]["method"] == "gpg" and shown["unpublished"]
    assert (scratch / "left-pad.tgz").read_bytes() == (scratch / "left-pad-1.0.0.tgz").read_bytes()
    for source_dir in ("app", "client"):
        assert [p.name for p in (scratch / source_dir).iterdir()] == ["__init__.py"]
    installed = scratch / "demo" / "vouch_modules" / "left-pad"
    assert (installed / "left-pad" / "README").read_text() == "pad strings\n"
    assert tomllib.loads((scratch / "demo" / "vouch.toml").read_text()) == {
        "dependencies": {"left-pad": "^1.0.0"}}
    assert "version:publish" in done.stdout  # the audit log, newest first
