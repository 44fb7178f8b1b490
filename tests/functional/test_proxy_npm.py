"""The upstream proxy for npm (issue 17) against a real Verdaccio 6 on loopback, with the real
npm 11 using Vouch as its only registry: a dependency tree installed cold (fetched, checked
against dist.integrity, cached) and again with the upstream down; an upstream whose advertised
integrity does not match its bytes (refused, nothing stored); a changed integrity after caching
(alert, old bytes kept); a hosted name and an organisation's scope that also exist upstream
with higher versions (never offered); a reserved name.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import func, select

from app.core.db import session_scope
from app.core.models import AuditEvent
from app.proxy.models import ProxyFile, ProxyPage
from tests.conftest import Actors
from tests.functional.npm_support import NpmCli, package_json, path, publish_body, tarball
from tests.functional.test_npm_client import npm11  # noqa: F401  (the real npm 11)
from tests.functional.test_npm_protocol import signed_body
from tests.support.server import RunningServer
from tests.support.verdaccio import Verdaccio

ABBREVIATED = "application/vnd.npm.install-v1+json"


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[Verdaccio]:
    with Verdaccio.start(tmp_path / "verdaccio") as server:
        for name, version, deps in (("dep-b", "1.0.0", {}),
                                    ("dep-a", "1.0.0", {"dep-b": "^1.0.0"}),
                                    ("internal-lib", "9.0.0", {}),
                                    ("@acme/widget", "9.0.0", {}),
                                    ("reserved-one", "1.0.0", {})):
            manifest = package_json(name, version, dependencies=deps)
            server.publish(publish_body(name, version, tarball(manifest), manifest=manifest))
        yield server


@pytest.fixture
def settings_overrides(upstream: Verdaccio, tmp_path: Path) -> dict[str, object]:
    config = tmp_path / "upstreams.toml"
    config.write_text(f'[[upstream]]\nname = "verdaccio"\nformat = "npm"\n'
                      f'url = "{upstream.url}"\nmetadata_ttl = "2m"\ntimeout = "5s"\n')
    return {"upstreams": config}


def _proxy_state(server: RunningServer) -> tuple[int, int, int]:
    with session_scope(server.registry.engine) as session:
        files = session.exec(select(func.count()).select_from(ProxyFile)).one()
        pages = session.exec(select(func.count()).select_from(ProxyPage)).one()
    return files, pages, len(server.registry.blobs.keys())


def test_npm_installs_a_tree_cold_then_with_the_upstream_down(
        server: RunningServer, upstream: Verdaccio, npm11: Path,  # noqa: F811
        tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "package.json").write_text(json.dumps(
        {"name": "app", "version": "1.0.0", "dependencies": {"dep-a": "^1.0.0"}}))
    npm = NpmCli(npm11, tmp_path / "home")
    first = npm.run(["install"], registry=f"{server.url}/npm/", cwd=project)
    assert first.returncode == 0, first.stdout + first.stderr
    lock = json.loads((project / "package-lock.json").read_text())
    resolved = lock["packages"]["node_modules/dep-b"]["resolved"]
    assert resolved.startswith(f"{server.url}/npm/dep-b/-/")  # Vouch, not the upstream
    assert (project / "node_modules" / "dep-b" / "package.json").exists()
    assert _proxy_state(server) == (2, 2, 2)

    upstream.stop()
    again = tmp_path / "again"
    again.mkdir()
    (again / "package.json").write_text((project / "package.json").read_text())
    (again / "package-lock.json").write_text((project / "package-lock.json").read_text())
    ci = NpmCli(npm11, tmp_path / "home2").run(["ci"], registry=f"{server.url}/npm/",
                                                cwd=again)
    assert ci.returncode == 0, ci.stdout + ci.stderr
    assert (again / "node_modules" / "dep-a" / "package.json").exists()
    status = httpx.get(server.url + "/api/v1/proxy/status").json()["upstreams"][0]
    assert status["format"] == "npm" and status["enabled"] and status["cached_files"] == 2
    assert status["downloads"] == 4
    # a name never cached, with the upstream down: 502 problem+json, with npm's 'error'
    missing = httpx.get(server.url + "/npm/never-seen")
    assert missing.status_code == 502 and missing.json()["code"] == "upstream_unavailable"
    assert missing.json()["error"]
    # after the TTL the kept packument is served, marked stale
    server.clock.advance(timedelta(minutes=3))
    stale = httpx.get(server.url + "/npm/dep-a", headers={"Accept": ABBREVIATED})
    assert stale.status_code == 200 and stale.headers["warning"] == '110 - "Response is Stale"'


def test_integrity_mismatch_is_refused_and_nothing_stored(server: RunningServer,
                                                          upstream: Verdaccio) -> None:
    data = tarball(package_json("liar", "1.0.0"))
    body = publish_body("liar", "1.0.0", data)
    body["versions"]["1.0.0"]["dist"]["integrity"] = _integrity(b"other bytes")
    upstream.publish(body)
    doc = httpx.get(server.url + "/npm/liar").json()
    assert doc["versions"]["1.0.0"]["dist"]["integrity"] == _integrity(b"other bytes")
    before = _proxy_state(server)
    answer = httpx.get(server.url + "/npm/liar/-/liar-1.0.0.tgz")
    assert answer.status_code == 502
    assert answer.json()["code"] == "upstream_digest_mismatch"
    assert _proxy_state(server) == before == (0, 1, 0)


def test_changed_integrity_after_caching_is_an_alert(server: RunningServer,
                                                     upstream: Verdaccio) -> None:
    first = httpx.get(server.url + "/npm/dep-b/-/dep-b-1.0.0.tgz")
    assert first.status_code == 200
    kept = first.content
    # the upstream's record of dep-b 1.0.0 changes (an operator rewrote its storage)
    stored = upstream.root / "storage" / "dep-b" / "package.json"
    record = json.loads(stored.read_text())
    record["versions"]["1.0.0"]["dist"]["integrity"] = _integrity(b"swapped")
    stored.write_text(json.dumps(record))
    server.clock.advance(timedelta(minutes=3))
    doc = httpx.get(server.url + "/npm/dep-b").json()
    assert doc["versions"]["1.0.0"]["dist"]["integrity"] == _integrity(kept)
    assert httpx.get(server.url + "/npm/dep-b/-/dep-b-1.0.0.tgz").content == kept
    with session_scope(server.registry.engine) as session:
        alerts = session.exec(select(AuditEvent).where(
            AuditEvent.action == "proxy:digest-changed")).all()
    assert [a.package for a in alerts] == ["dep-b"]
    assert alerts[0].details["upstream_sha512"] == hashlib.sha512(b"swapped").hexdigest()


def test_hosted_names_scopes_and_reservations_never_resolve_upstream(
        server: RunningServer, actors: Actors, upstream: Verdaccio) -> None:
    alice = actors.client(actors.user("alice"))
    data = tarball(package_json("internal-lib", "1.0.0"))
    assert alice.put(path("internal-lib"), json=signed_body(
        actors, "alice", "internal-lib", "1.0.0", data)).status_code == 201
    assert alice.post("/api/v1/orgs", json={"name": "acme"}).status_code == 201
    reserved = alice.post("/api/v1/orgs/acme/reservations", json={"name": "Reserved-One"})
    assert reserved.status_code == 201, reserved.text

    doc = httpx.get(server.url + "/npm/internal-lib").json()
    assert list(doc["versions"]) == ["1.0.0"] and doc["dist-tags"]["latest"] == "1.0.0"
    assert httpx.get(server.url + "/npm/internal-lib/-/internal-lib-9.0.0.tgz").status_code \
        == 404
    # the org's scope holds nothing yet: still never looked up upstream
    assert httpx.get(server.url + "/npm/@acme%2fwidget").status_code == 404
    assert httpx.get(server.url + "/npm/@acme/widget/-/widget-9.0.0.tgz").status_code == 404
    assert httpx.get(server.url + "/npm/reserved-one").status_code == 404
    # other spellings of the same names (npm compares case-insensitively here)
    for spelling in ("/npm/Internal-Lib", "/npm/@ACME%2fwidget", "/npm/Reserved-One"):
        assert httpx.get(server.url + spelling).status_code in (400, 404), spelling
    assert _proxy_state(server)[:2] == (0, 0)
