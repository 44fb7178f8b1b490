"""The real npm CLI (npm 11, installed from the npm registry into a temporary prefix for the
session; node 20 runs it) against the real server: signed publishes, installs with a lockfile
and ``npm ci``, refusals, and registry signatures checked by npm's own verifier.

Signing with the npm CLI: it cannot attach a GPG signature to its publish body and its
``--provenance-file`` re-verifies the bundle against the public-good Sigstore TUF root (online
only), so these tests sign the way the README tells npm users to: ``npm pack``, ``gpg
--armor --detach-sign`` the tarball, stage the signature (``PUT
/npm/-/vouch/signature/<sha512>``), then ``npm publish <tarball>``.

The real ``npm audit signatures`` cannot run offline, so the registry signatures are checked
with npm's own verifier, pacote (from the same npm 11), given the registry's keys through its
``//host/path/:_keys`` option: the route the issue names for offline tests. Why the command
itself cannot (npm 11.19.1, ``lib/utils/verify-signatures.js``): ``run()`` awaits
``@sigstore/tuf``'s ``initTUF({cachePath, retry, timeout})`` before it looks up any key, and
``initTUF`` always calls the TUF updater's ``refresh()``, which downloads the next root
(``https://tuf-repo-cdn.sigstore.dev/<N+1>.root.json``) and ``timestamp.json``: TUF's
freshness check, which no cache skips (npm passes no ``forceCache`` and no mirror URL, and
none can be configured). A network error is rethrown (only a 403/404 ends the root walk), so
the command fails before ``setKeys`` reads the TUF target or Vouch's ``/-/npm/v1/keys``; a
pre-seeded TUF cache does not help (measured here: ``initTUF`` with a seeded cache fails with
ENOTFOUND for ``15.root.json``), and the command does not read ``//host/:_keys`` (it *sets*
that option for pacote from the keys it found). Making it run would mean impersonating
Sigstore's TUF CDN (a forged TLS certificate and a substitute TUF root): a mock of Sigstore,
not the real thing. ``npm audit signatures`` does read Vouch's keys from ``/-/npm/v1/keys``
wherever the TUF CDN is reachable (Vouch's registry has no TUF target, so npm falls back).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from app.core.db import session_scope
from app.core.models import AuditEvent, PackageFile
from tests.conftest import Actors, state_counts
from tests.functional.helpers import publish as native_publish
from tests.functional.npm_support import NpmCli
from tests.support.server import RunningServer


@pytest.fixture(scope="session")
def npm11(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """npm 11 from the npm registry, installed once per session (worker)."""
    prefix = tmp_path_factory.mktemp("npm11")
    env = {**os.environ, "HOME": str(prefix / "home")}
    if Path("/etc/ssl/certs/ca-certificates.crt").exists():  # the machine's CA bundle
        env["npm_config_cafile"] = "/etc/ssl/certs/ca-certificates.crt"
    done = subprocess.run(["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
                           "--no-save", "npm@11"], capture_output=True, text=True, timeout=600,
                          check=False, env=env)
    assert done.returncode == 0, done.stderr
    npm_js = prefix / "node_modules" / "npm" / "bin" / "npm-cli.js"
    assert npm_js.exists()
    return npm_js


@pytest.fixture
def npm(npm11: Path, tmp_path: Path) -> NpmCli:
    return NpmCli(npm11, tmp_path / "npm-home")


def registry_url(server: RunningServer) -> str:
    return f"{server.url}/npm/"


def make_package(root: Path, name: str, version: str, **extra: object) -> Path:
    directory = root / name.replace("/", "__") / version
    directory.mkdir(parents=True)
    (directory / "package.json").write_text(json.dumps(
        {"name": name, "version": version, "description": f"{name} for tests", "main": "index.js",
         "license": "MIT", **extra}))
    (directory / "index.js").write_text(f"module.exports = {json.dumps(name + '@' + version)}\n")
    return directory


def pack(npm: NpmCli, directory: Path, server: RunningServer) -> Path:
    done = npm.run(["pack", "--json", "--pack-destination", str(directory.parent)],
                   registry=registry_url(server), cwd=directory)
    assert done.returncode == 0, done.stderr
    return directory.parent / json.loads(done.stdout)[0]["filename"]


def signed_publish(npm: NpmCli, actors: Actors, server: RunningServer, user: str, token: str,
                   directory: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """pack, gpg-sign, stage the signature, ``npm publish <tarball>`` (the README's recipe)."""
    tgz = pack(npm, directory, server)
    data = tgz.read_bytes()
    staged = actors.client(token).put(
        f"/npm/-/vouch/signature/{hashlib.sha512(data).hexdigest()}",
        content=actors.signers[user].sign(data), headers={"Content-Type": "text/plain"})
    assert staged.status_code == 201, staged.text
    return npm.run(["publish", str(tgz), *extra], registry=registry_url(server), token=token)


def test_npm_publish_signed_plain_and_scoped(npm: NpmCli, actors: Actors,
                                             server: RunningServer, tmp_path: Path) -> None:
    token = actors.user("alice")
    assert actors.client(token).post("/api/v1/orgs", json={"name": "acme"}).status_code == 201
    for name in ("left-pad", "@acme/widget"):
        done = signed_publish(npm, actors, server, "alice", token,
                              make_package(tmp_path, name, "1.0.0"), "--access", "public")
        assert done.returncode == 0, done.stderr
        view = npm.run(["view", name, "--json"], registry=registry_url(server), token=token)
        assert view.returncode == 0, view.stderr
        shown = json.loads(view.stdout)
        assert shown["name"] == name and shown["version"] == "1.0.0"
        assert shown["dist-tags"] == {"latest": "1.0.0"}
        assert shown["dist"]["signatures"][0]["keyid"].startswith("SHA256:")
    whoami = npm.run(["whoami"], registry=registry_url(server), token=token)
    assert whoami.returncode == 0 and whoami.stdout.strip() == "alice", whoami.stderr
    assert npm.run(["ping"], registry=registry_url(server)).returncode == 0


def test_npm_refusals_leave_nothing_behind(npm: NpmCli, actors: Actors, server: RunningServer,
                                           tmp_path: Path) -> None:
    token = actors.user("alice")
    mallory = actors.user("mallory")
    directory = make_package(tmp_path, "left-pad", "1.0.0")
    before = state_counts(server)
    unsigned = npm.run(["publish"], registry=registry_url(server), token=token, cwd=directory)
    assert unsigned.returncode != 0
    assert "signature" in unsigned.stderr.lower(), unsigned.stderr  # npm prints our 'error'
    assert state_counts(server) == before
    assert signed_publish(npm, actors, server, "alice", token, directory).returncode == 0
    after_first = state_counts(server)
    (directory / "index.js").write_text("module.exports = 'changed'\n")
    again = signed_publish(npm, actors, server, "alice", token, directory)
    assert again.returncode != 0
    assert "You cannot publish over the previously published versions: 1.0.0." in again.stderr
    assert state_counts(server) == after_first
    other = make_package(tmp_path / "m", "left-pad", "1.0.1")
    stolen = signed_publish(npm, actors, server, "mallory", mallory, other)
    assert stolen.returncode != 0 and "403" in stolen.stderr, stolen.stderr
    assert state_counts(server) == after_first


def test_npm_install_with_lockfile_then_npm_ci(npm: NpmCli, actors: Actors,
                                               server: RunningServer, tmp_path: Path) -> None:
    token = actors.user("alice")
    assert actors.client(token).post("/api/v1/orgs", json={"name": "acme"}).status_code == 201
    tree = [("is-odd", "1.0.0", {}), ("is-odd", "1.1.0", {}),
            ("@acme/math", "2.0.0", {"dependencies": {"is-odd": "^1.1.0"}}),
            ("app-lib", "0.3.0", {"dependencies": {"@acme/math": "~2.0.0", "is-odd": "1.0.0"}})]
    for name, version, extra in tree:
        done = signed_publish(npm, actors, server, "alice", token,
                              make_package(tmp_path / "src", name, version, **extra),
                              "--access", "public")
        assert done.returncode == 0, done.stderr
    project = tmp_path / "project"
    project.mkdir()
    (project / "package.json").write_text(json.dumps(
        {"name": "project", "version": "1.0.0", "private": True}))
    installed = npm.run(["install", "app-lib@^0.3.0"], registry=registry_url(server),
                        cwd=project)
    assert installed.returncode == 0, installed.stderr
    lock = json.loads((project / "package-lock.json").read_text())["packages"]
    assert lock["node_modules/app-lib"]["version"] == "0.3.0"
    assert lock["node_modules/@acme/math"]["version"] == "2.0.0"
    assert {lock[k]["version"] for k in lock if k.endswith("node_modules/is-odd")} == {
        "1.0.0", "1.1.0"}
    assert lock["node_modules/app-lib"]["resolved"] == (
        f"{server.url}/npm/app-lib/-/app-lib-0.3.0.tgz")
    assert lock["node_modules/app-lib"]["integrity"].startswith("sha512-")
    shutil.rmtree(project / "node_modules")
    clean = npm.run(["ci"], registry=registry_url(server), cwd=project)
    assert clean.returncode == 0, clean.stderr
    run = subprocess.run(["node", "-e", "console.log(require('app-lib'))"], cwd=project,
                         capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "app-lib@0.3.0"


VERIFY = r"""
const [pacotePath, registry, spec] = process.argv.slice(1)
const pacote = require(pacotePath)
const url = new URL(registry)
fetch(registry + '-/npm/v1/keys').then(r => r.json()).then(async ({ keys }) => {
  const opts = { registry, verifySignatures: true, fullMetadata: true, preferOnline: true,
    cache: process.env.CACHE,
    [`//${url.host}${url.pathname}:_keys`]: keys.map(k => ({ ...k,
      pemkey: `-----BEGIN PUBLIC KEY-----\n${k.key}\n-----END PUBLIC KEY-----` })) }
  try {
    const mani = await pacote.manifest(spec, opts)
    console.log(JSON.stringify({ ok: true, signatures: mani._signatures }))
  } catch (err) {
    console.log(JSON.stringify({ ok: false, code: err.code, message: err.message }))
  }
})
"""


def test_registry_signatures_verify_with_npms_own_verifier(npm: NpmCli, npm11: Path,
                                                           actors: Actors, server: RunningServer,
                                                           tmp_path: Path) -> None:
    token = actors.user("alice")
    done = signed_publish(npm, actors, server, "alice", token,
                          make_package(tmp_path, "left-pad", "1.0.0"))
    assert done.returncode == 0, done.stderr
    pacote = npm11.parent.parent / "node_modules" / "pacote"

    def verify(cache: str) -> dict:
        out = subprocess.run(["node", "-e", VERIFY, str(pacote), registry_url(server),
                              "left-pad@1.0.0"], capture_output=True, text=True, check=True,
                             env={"PATH": "/usr/bin:/bin", "CACHE": str(tmp_path / cache)})
        return json.loads(out.stdout)

    good = verify("c1")
    assert good["ok"] is True and good["signatures"][0]["keyid"].startswith("SHA256:")
    # Tamper with the stored signature: npm's verifier refuses the manifest.
    with session_scope(server.registry.engine, write=True) as session:
        file = session.exec(select(PackageFile)).one()
        manifest = json.loads(file.core_metadata)
        manifest["dist"]["signatures"][0]["sig"] = manifest["dist"]["signatures"][0]["sig"][
            :-8] + "AAAAAAA="
        file.core_metadata = json.dumps(manifest).encode()
        session.add(file)
    bad = verify("c2")
    assert bad == {"ok": False, "code": "EINTEGRITYSIGNATURE", "message": bad["message"]}


def test_npm_deprecate_and_undeprecate(npm: NpmCli, actors: Actors, server: RunningServer,
                                       tmp_path: Path) -> None:
    token = actors.user("alice")
    for version in ("1.0.0", "1.1.0"):
        done = signed_publish(npm, actors, server, "alice", token,
                              make_package(tmp_path, "left-pad", version))
        assert done.returncode == 0, done.stderr
    reg = registry_url(server)
    done = npm.run(["deprecate", "left-pad@<1.1.0", "use 1.1"], registry=reg, token=token)
    assert done.returncode == 0, done.stderr
    versions = actors.client().get("/npm/left-pad").json()["versions"]
    assert versions["1.0.0"]["deprecated"] == "use 1.1" and "deprecated" not in versions["1.1.0"]
    native = actors.client().get("/api/v1/packages/left-pad/versions/1.0.0")
    assert native.status_code == 404  # an npm package is not a native one
    # another account cannot, and nothing changes
    mallory = actors.user("mallory")
    refused = npm.run(["deprecate", "left-pad@1.1.0", "pwned"], registry=reg, token=mallory)
    assert refused.returncode != 0 and "403" in refused.stderr, refused.stderr
    done = npm.run(["deprecate", "left-pad@1.0.0", ""], registry=reg, token=token)
    assert done.returncode == 0, done.stderr
    versions = actors.client().get("/npm/left-pad").json()["versions"]
    assert not any("deprecated" in doc for doc in versions.values())


def test_npm_unpublish_inside_and_after_the_grace_period(npm: NpmCli, actors: Actors,
                                                         server: RunningServer,
                                                         tmp_path: Path) -> None:
    token = actors.user("alice")
    for version in ("1.0.0", "1.0.1", "1.0.2"):
        done = signed_publish(npm, actors, server, "alice", token,
                              make_package(tmp_path, "left-pad", version))
        assert done.returncode == 0, done.stderr
    reg = registry_url(server)
    gone = npm.run(["unpublish", "left-pad@1.0.2"], registry=reg, token=token)
    assert gone.returncode == 0, gone.stderr
    doc = actors.client().get("/npm/left-pad").json()
    assert set(doc["versions"]) == {"1.0.0", "1.0.1"} and doc["dist-tags"]["latest"] == "1.0.1"
    tarball = actors.client().get(f"{server.url}/npm/left-pad/-/left-pad-1.0.2.tgz")
    assert tarball.status_code == 410
    # the number is burned: publishing it again is refused with npm's wording
    again = signed_publish(npm, actors, server, "alice", token,
                           make_package(tmp_path / "again", "left-pad", "1.0.2"))
    assert again.returncode != 0
    assert "You cannot publish over the previously published versions: 1.0.2." in again.stderr
    server.clock.advance(timedelta(hours=25))
    before = state_counts(server)
    late = npm.run(["unpublish", "left-pad@1.0.1"], registry=reg, token=token)
    assert late.returncode != 0
    assert "405" in late.stderr and "Please deprecate it instead" in late.stderr, late.stderr
    late_all = npm.run(["unpublish", "left-pad", "--force"], registry=reg, token=token)
    assert late_all.returncode != 0 and "Please deprecate it instead" in late_all.stderr
    assert state_counts(server) == before
    assert set(actors.client().get("/npm/left-pad").json()["versions"]) == {"1.0.0", "1.0.1"}


def test_npm_audit_finds_a_published_advisory(npm: NpmCli, actors: Actors,
                                              server: RunningServer, tmp_path: Path) -> None:
    token = actors.user("alice")
    for version in ("1.0.0", "1.1.0"):
        done = signed_publish(npm, actors, server, "alice", token,
                              make_package(tmp_path, "is-odd", version))
        assert done.returncode == 0, done.stderr
    security = actors.client(actors.user("sec", security=True))
    record = {"id": "GHSA-2222-3333-4444", "modified": "2026-01-01T00:00:00Z",
              "summary": "is-odd says 2 is odd",
              "affected": [{"package": {"ecosystem": "npm", "name": "is-odd"},
                            "ranges": [{"type": "SEMVER", "events": [
                                {"introduced": "0"}, {"fixed": "1.1.0"}]}]}],
              "database_specific": {"severity": "CRITICAL", "cwe_ids": ["CWE-682"]}}
    imported = security.post("/api/v1/advisories/import", json=[record])
    assert imported.status_code == 200 and imported.json()["invalid"] == 0, imported.text
    project = tmp_path / "project"
    project.mkdir()
    (project / "package.json").write_text(json.dumps(
        {"name": "project", "version": "1.0.0", "private": True}))
    reg = registry_url(server)
    assert npm.run(["install", "is-odd@1.0.0"], registry=reg, cwd=project).returncode == 0
    audit = npm.run(["audit", "--json"], registry=reg, cwd=project)
    assert audit.returncode == 1, audit.stderr
    report = json.loads(audit.stdout)
    found = report["vulnerabilities"]["is-odd"]
    assert found["severity"] == "critical"
    assert found["range"] == "1.0.0"  # npm narrows "<1.1.0" to the versions the packument has
    via = found["via"][0]
    assert via["title"] == "is-odd says 2 is odd" and via["range"] == "<1.1.0"
    assert via["cwe"] == ["CWE-682"] and via["url"].endswith("/advisories/GHSA-2222-3333-4444")
    assert found["fixAvailable"]  # 1.1.0 is in the packument
    assert npm.run(["install", "is-odd@1.1.0"], registry=reg, cwd=project).returncode == 0
    clean = npm.run(["audit", "--json"], registry=reg, cwd=project)
    assert clean.returncode == 0, clean.stdout


def test_npm_search_finds_npm_packages_only(npm: NpmCli, actors: Actors,
                                            server: RunningServer, tmp_path: Path) -> None:
    token = actors.user("alice")
    for name, description in (("widget", "the exact one"), ("widget-tools", "tools for it"),
                              ("gadget", "not a w*dget")):
        done = signed_publish(npm, actors, server, "alice", token,
                              make_package(tmp_path, name, "1.0.0", description=description,
                                           keywords=["widgets"]))
        assert done.returncode == 0, done.stderr
    assert native_publish(actors.client(token), "widget-native", "1.0.0").status_code == 201
    registry = server.registry
    registry.downloads.flush(search_now=True)
    while registry.worker.run_once():
        pass
    found = npm.run(["search", "widget", "--json"], registry=registry_url(server))
    assert found.returncode == 0, found.stderr
    names = [item["name"] for item in json.loads(found.stdout)]
    assert names[0] == "widget" and "widget-tools" in names
    assert "widget-native" not in names  # a native package is not an npm package
    first = json.loads(found.stdout)[0]
    assert first["version"] == "1.0.0" and first["description"] == "the exact one"


def test_npm_dist_tag_add_rm_ls(npm: NpmCli, actors: Actors, server: RunningServer,
                                tmp_path: Path) -> None:
    token = actors.user("alice")
    for version, extra in (("1.0.0", ()), ("1.1.0", ()), ("2.0.0-rc.1", ("--tag", "beta"))):
        done = signed_publish(npm, actors, server, "alice", token,
                              make_package(tmp_path, "left-pad", version), *extra)
        assert done.returncode == 0, done.stderr
    reg = registry_url(server)

    def ls() -> str:
        done = npm.run(["dist-tag", "ls", "left-pad"], registry=reg, token=token)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def tags() -> dict[str, str]:  # the packument (cached per process) after every write
        full = actors.client().get("/npm/left-pad").json()["dist-tags"]
        corgi = actors.client().get("/npm/left-pad", headers={
            "Accept": "application/vnd.npm.install-v1+json"}).json()["dist-tags"]
        assert full == corgi
        return full

    def events() -> list[tuple[str, str | None, str]]:
        with session_scope(server.registry.engine) as session:
            rows = session.exec(select(AuditEvent).where(
                col(AuditEvent.action).startswith("npm:dist-tag")).order_by(
                    col(AuditEvent.id))).all()
            return [(r.action, r.version, r.details["tag"]) for r in rows]

    # `npm publish --tag beta` set beta; latest is still the highest release
    assert ls() == "beta: 2.0.0-rc.1\nlatest: 1.1.0"
    assert tags() == {"latest": "1.1.0", "beta": "2.0.0-rc.1"}
    added = npm.run(["dist-tag", "add", "left-pad@2.0.0-rc.1", "next"], registry=reg,
                    token=token)
    assert added.returncode == 0 and "+next: left-pad@2.0.0-rc.1" in added.stdout, added.stderr
    assert ls() == "beta: 2.0.0-rc.1\nlatest: 1.1.0\nnext: 2.0.0-rc.1"
    assert tags() == {"latest": "1.1.0", "beta": "2.0.0-rc.1", "next": "2.0.0-rc.1"}
    project = tmp_path / "project"
    project.mkdir()
    (project / "package.json").write_text(json.dumps({"name": "p", "version": "1.0.0"}))
    installed = npm.run(["install", "left-pad@next"], registry=reg, cwd=project)
    assert installed.returncode == 0, installed.stderr
    lock = json.loads((project / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/left-pad"]["version"] == "2.0.0-rc.1"
    # an owner may set latest; removing it goes back to the highest release
    assert npm.run(["dist-tag", "add", "left-pad@1.0.0", "latest"], registry=reg,
                   token=token).returncode == 0
    assert tags() == {"latest": "1.0.0", "beta": "2.0.0-rc.1", "next": "2.0.0-rc.1"}
    # another account cannot add or remove, and nothing changes
    mallory = actors.user("mallory")
    before = state_counts(server)
    for args in (["add", "left-pad@1.1.0", "next"], ["rm", "left-pad", "next"]):
        refused = npm.run(["dist-tag", *args], registry=reg, token=mallory)
        assert refused.returncode != 0 and "not an owner" in refused.stderr, refused.stderr
    missing = npm.run(["dist-tag", "add", "left-pad@9.9.9", "next"], registry=reg, token=token)
    assert missing.returncode != 0 and "404" in missing.stderr, missing.stderr
    assert state_counts(server) == before
    assert tags() == {"latest": "1.0.0", "beta": "2.0.0-rc.1", "next": "2.0.0-rc.1"}
    # a tag whose version is unpublished is not offered
    assert npm.run(["unpublish", "left-pad@2.0.0-rc.1"], registry=reg,
                   token=token).returncode == 0
    assert tags() == {"latest": "1.0.0"} and ls() == "latest: 1.0.0"
    removed = npm.run(["dist-tag", "rm", "left-pad", "latest"], registry=reg, token=token)
    assert removed.returncode == 0 and "-latest: left-pad@1.0.0" in removed.stdout
    assert tags() == {"latest": "1.1.0"}
    again = npm.run(["dist-tag", "rm", "left-pad", "latest"], registry=reg, token=token)
    assert again.returncode != 0 and "404" in again.stderr
    assert events() == [("npm:dist-tag-add", "2.0.0-rc.1", "next"),
                        ("npm:dist-tag-add", "1.0.0", "latest"),
                        ("npm:dist-tag-rm", "1.0.0", "latest")]
