"""The native format's upstream proxy (issue 17): a second real Vouch is the ``vouch`` upstream.

A package Vouch does not host has its package and version documents fetched from the upstream
(cached for the TTL, served stale when the upstream is down) and its artifact fetched once,
checked against the upstream's sha256 before anything is stored, stored write-once and served
from then on, also with the upstream gone. Bytes that do not match are refused with nothing
stored; a hosted or reserved name (or an organisation's scope) never reaches the upstream.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import func, select

from app.core.clock import ManualClock
from app.core.config import Settings
from app.core.db import session_scope
from app.core.models import AuditEvent, PackageBlob
from app.proxy.models import ProxyFile, ProxyPage
from tests.conftest import Actors
from tests.functional.clihelp import cli_env, vouch
from tests.functional.helpers import assert_problem, publish
from tests.functional.test_lock_install import tarball
from tests.support.databases import DatabaseFactory
from tests.support.server import RunningServer, running_registry
from tests.support.signers import SessionSigning

DATA = b"native artifact bytes of widget 1.0.0"


@dataclass
class Upstream:
    running: RunningServer
    actors: Actors
    stack: ExitStack

    def stop(self) -> None:
        self.stack.close()


@pytest.fixture
def upstream(settings: Settings, db_factory: DatabaseFactory, session_signing: SessionSigning,
             tmp_path: Path) -> Iterator[Upstream]:
    """A second real registry (its own database and blobs) that the test can stop."""
    stack = ExitStack()
    url = stack.enter_context(db_factory.fresh(tmp_path / "upstream-db"))
    running = stack.enter_context(running_registry(settings.model_copy(update={
        "data_dir": tmp_path / "upstream-data", "database_url": url}), ManualClock()))
    yield Upstream(running, Actors(running, session_signing), stack)
    stack.close()


def _proxy(settings: Settings, db_factory: DatabaseFactory, tmp_path: Path, upstream: Upstream,
           unsigned: str = "warn") -> Iterator[RunningServer]:
    config = tmp_path / "upstreams.toml"
    config.write_text(f'[[upstream]]\nname = "vouch-up"\nformat = "vouch"\n'
                      f'url = "{upstream.running.url}/"\nmetadata_ttl = "10m"\ntimeout = "5s"\n'
                      f'unsigned = "{unsigned}"\n')
    with db_factory.fresh(tmp_path / "proxy-db") as url, running_registry(
            settings.model_copy(update={"data_dir": tmp_path / "proxy-data", "database_url": url,
                                        "upstreams": config}), ManualClock()) as running:
        yield running


@pytest.fixture
def proxy(settings: Settings, db_factory: DatabaseFactory, tmp_path: Path,
          upstream: Upstream) -> Iterator[RunningServer]:
    yield from _proxy(settings, db_factory, tmp_path, upstream)


@pytest.fixture
def widget(upstream: Upstream) -> str:
    """widget 1.0.0 and 1.1.0 published (GPG-signed) on the upstream."""
    token = upstream.actors.user("alice")
    client = upstream.actors.client(token)
    assert publish(client, "widget", "1.0.0", DATA).status_code == 201
    assert publish(client, "widget", "1.1.0", DATA + b" 1.1").status_code == 201
    return token


def _state(proxy: RunningServer) -> tuple[int, int, int, int]:
    with session_scope(proxy.registry.engine) as session:
        files = session.exec(select(func.count()).select_from(ProxyFile)).one()
        pages = session.exec(select(func.count()).select_from(ProxyPage)).one()
        blobs = session.exec(select(func.count()).select_from(PackageBlob)).one()
    return files, pages, blobs, len(proxy.registry.blobs.keys())


def _upstream_downloads(upstream: Upstream, version: str) -> int:
    upstream.running.registry.downloads.flush()
    doc = httpx.get(f"{upstream.running.url}/api/v1/packages/widget/versions/{version}").json()
    return int(doc["downloads"])


def test_documents_and_artifact_are_proxied_cached_and_served_after_the_upstream_goes(
        proxy: RunningServer, upstream: Upstream, widget: str) -> None:
    package = httpx.get(f"{proxy.url}/api/v1/packages/widget")
    assert package.status_code == 200, package.text
    assert package.headers["x-vouch-upstream"] == "vouch-up"
    body = package.json()
    assert body["name"] == "widget" and body["latest"] == "1.1.0"
    assert [v["version"] for v in body["versions"]] == ["1.0.0", "1.1.0"]
    version = httpx.get(f"{proxy.url}/api/v1/packages/widget/versions/1.0.0").json()
    assert version["sha256"] == hashlib.sha256(DATA).hexdigest()
    assert version["artifact_url"] == "/api/v1/packages/widget/versions/1.0.0/artifact"
    assert version["signer"] is None and version["downloads"] == 0  # not claims of ours
    assert _state(proxy) == (0, 2, 0, 0)  # documents only: nothing fetched before it is asked

    artifact = httpx.get(proxy.url + version["artifact_url"])
    assert artifact.status_code == 200 and artifact.content == DATA
    assert artifact.headers["warning"] == '199 - "unsigned upstream version"'
    assert artifact.headers["etag"] == f'"{version["sha256"]}"'
    assert _upstream_downloads(upstream, "1.0.0") == 1
    assert proxy.registry.blobs.keys() == [version["sha256"]]
    again = httpx.get(proxy.url + version["artifact_url"])  # a hit: the upstream is not asked
    assert again.content == DATA and _upstream_downloads(upstream, "1.0.0") == 1
    assert httpx.get(f"{proxy.url}/api/v1/packages/widget/versions/1.0.0").json()[
        "downloads"] == 2

    upstream.stop()
    assert httpx.get(proxy.url + version["artifact_url"]).content == DATA  # served for ever
    # inside the TTL the cached documents answer, unmarked
    fresh = httpx.get(f"{proxy.url}/api/v1/packages/widget")
    assert fresh.status_code == 200 and "warning" not in fresh.headers
    proxy.clock.advance(timedelta(minutes=11))
    stale = httpx.get(f"{proxy.url}/api/v1/packages/widget")
    assert stale.status_code == 200 and stale.headers["warning"] == '110 - "Response is Stale"'
    assert stale.json()["versions"] == body["versions"]
    assert httpx.get(proxy.url + version["artifact_url"]).content == DATA
    # never fetched: a clear 502 with nothing stored
    before = _state(proxy)
    uncached = httpx.get(f"{proxy.url}/api/v1/packages/widget/versions/1.1.0/artifact")
    assert_problem(uncached, 502, "upstream_unavailable")
    assert_problem(httpx.get(f"{proxy.url}/api/v1/packages/other"), 502, "upstream_unavailable")
    assert _state(proxy) == before


def _advertise(proxy: RunningServer, sha256: str) -> None:
    """The upstream's version document of widget 1.0.0, as the proxy holds it, now
    advertises ``sha256`` (what an upstream that changed or lies about its bytes says)."""
    with session_scope(proxy.registry.engine, write=True) as session:
        page = session.exec(select(ProxyPage).where(ProxyPage.name == "widget@1.0.0")).one()
        doc = json.loads(page.body)
        doc["sha256"] = sha256
        page.body = json.dumps(doc)
        session.add(page)


def test_bytes_not_matching_the_upstream_sha256_are_refused_and_nothing_stored(
        proxy: RunningServer, upstream: Upstream, widget: str) -> None:
    assert httpx.get(f"{proxy.url}/api/v1/packages/widget/versions/1.0.0").status_code == 200
    _advertise(proxy, hashlib.sha256(b"other bytes").hexdigest())
    answer = assert_problem(
        httpx.get(f"{proxy.url}/api/v1/packages/widget/versions/1.0.0/artifact"),
        502, "upstream_digest_mismatch")
    assert answer["package"] == "widget"
    files, _, blobs, stored = _state(proxy)
    assert (files, blobs, stored) == (0, 0, 0)
    staging = proxy.registry.settings.data_dir / "staging"
    assert not staging.exists() or list(staging.iterdir()) == []
    with session_scope(proxy.registry.engine) as session:
        assert session.exec(select(func.count()).select_from(AuditEvent)).one() == 0


def test_changed_upstream_digest_is_an_alert_and_the_cached_bytes_stay(
        proxy: RunningServer, upstream: Upstream, widget: str) -> None:
    assert httpx.get(f"{proxy.url}/api/v1/packages/widget/versions/1.0.0/artifact"
                     ).content == DATA
    changed = hashlib.sha256(b"other bytes").hexdigest()
    _advertise(proxy, changed)
    for _ in range(2):
        doc = httpx.get(f"{proxy.url}/api/v1/packages/widget/versions/1.0.0").json()
        assert doc["sha256"] == hashlib.sha256(DATA).hexdigest()
        assert httpx.get(proxy.url + doc["artifact_url"]).content == DATA
    with session_scope(proxy.registry.engine) as session:
        events = list(session.exec(select(AuditEvent).where(
            AuditEvent.action == "proxy:digest-changed")))
    assert len(events) == 1  # once, with both digests
    assert events[0].details["upstream_sha256"] == changed


def test_hosted_reserved_and_org_scoped_names_never_reach_the_upstream(
        proxy: RunningServer, upstream: Upstream, widget: str, session_signing: SessionSigning,
        ) -> None:
    local = Actors(proxy, session_signing)
    admin = local.user("root", admin=True)
    owner = local.client(admin)
    # hosted here with a lower version than the upstream's: the upstream's is never offered
    assert publish(owner, "widget", "0.1.0", b"private widget").status_code == 201
    # upstream also publishes names this registry reserves or whose scope is an org's
    up = upstream.actors.client(widget)
    assert publish(up, "internal-tool", "9.0.0", b"public shadow").status_code == 201
    assert owner.post("/api/v1/orgs", json={"name": "acme"}).status_code == 201
    assert owner.post("/api/v1/orgs/acme/reservations",
                      json={"name": "internal-tool"}).status_code == 201
    before = _state(proxy)

    hosted = httpx.get(f"{proxy.url}/api/v1/packages/widget").json()
    assert [v["version"] for v in hosted["versions"]] == ["0.1.0"]
    assert "x-vouch-upstream" not in httpx.get(f"{proxy.url}/api/v1/packages/widget").headers
    assert_problem(httpx.get(f"{proxy.url}/api/v1/packages/widget/versions/1.0.0"), 404,
                   "version_not_found")
    assert httpx.get(f"{proxy.url}/api/v1/packages/widget/versions/1.0.0/artifact"
                     ).status_code == 404
    for name in ("internal-tool", "@acme/anything"):
        assert_problem(httpx.get(f"{proxy.url}/api/v1/packages/{name}"), 404,
                       "package_not_found")
        assert httpx.get(f"{proxy.url}/api/v1/packages/{name}/versions/9.0.0/artifact"
                         ).status_code == 404
    assert _state(proxy) == before  # nothing asked upstream: no page, no file
    status = httpx.get(f"{proxy.url}/api/v1/proxy/status").json()["upstreams"][0]
    assert status["misses"] == 0 and status["hits"] == 0


def test_refuse_policy_serves_verified_sigstore_artifacts_only(
        settings: Settings, db_factory: DatabaseFactory, tmp_path: Path, upstream: Upstream,
        widget: str) -> None:
    # gadget 1.0.0 is signed by a workflow through the local Sigstore instance; widget by GPG
    ci = upstream.actors.client(upstream.actors.user("ci", signing="sigstore"))
    assert publish(ci, "gadget", "1.0.0", b"gadget bytes").status_code == 201
    for refusing in _proxy(settings, db_factory, tmp_path, upstream, unsigned="refuse"):
        signed = httpx.get(f"{refusing.url}/api/v1/packages/gadget/versions/1.0.0/artifact")
        assert signed.status_code == 200, signed.text
        assert signed.content == b"gadget bytes" and "warning" not in signed.headers
        with session_scope(refusing.registry.engine) as session:
            assert [(r.filename, r.signed) for r in session.exec(select(ProxyFile))] == [
                ("gadget-1.0.0.tgz", True)]
        before = _state(refusing)
        answer = httpx.get(f"{refusing.url}/api/v1/packages/widget/versions/1.0.0/artifact")
        assert_problem(answer, 403, "upstream_unsigned")  # GPG: the upstream's key record
        files, _, blobs, stored = _state(refusing)
        assert (files, blobs, stored) == before[:1] + before[2:]


def test_purging_a_name_drops_its_package_and_version_documents(
        proxy: RunningServer, upstream: Upstream, widget: str,
        session_signing: SessionSigning) -> None:
    for url in ("widget", "widget/versions/1.0.0", "widget/versions/1.1.0"):
        assert httpx.get(f"{proxy.url}/api/v1/packages/{url}").status_code == 200
    local = Actors(proxy, session_signing)
    admin = local.client(local.user("root", admin=True))
    purged = admin.post("/api/v1/proxy/purge", json={"name": "widget"})
    assert purged.status_code == 200 and purged.json() == {"purged": 3}
    assert _state(proxy)[1] == 0
    # the next read asks the upstream again
    assert httpx.get(f"{proxy.url}/api/v1/packages/widget").status_code == 200
    assert _state(proxy)[1] == 1


def test_vouch_install_takes_upstream_only_names_through_the_proxy_and_hosted_ones_from_here(
        proxy: RunningServer, upstream: Upstream, widget: str, session_signing: SessionSigning,
        tmp_path: Path) -> None:
    # upstream only: toolkit 1.0.0 depends on helper ^1 (both GPG-signed on the upstream);
    # widget: the upstream has 1.0.0 and 1.1.0 (the fixture) and 2.0.0, this registry 0.1.0
    up = upstream.actors.client(widget)
    for name, version, deps in (("helper", "1.2.0", {}), ("toolkit", "1.0.0", {"helper": "^1"}),
                                ("widget", "2.0.0", {})):
        data = tarball({f"package/{name}.txt": f"upstream {name} {version}".encode()})
        assert publish(up, name, version, data,
                       metadata={"dependencies": deps}).status_code == 201
    local = Actors(proxy, session_signing)
    owner = local.client(local.user("owner"))
    hosted = tarball({"package/widget.txt": b"private widget 0.1.0"})
    assert publish(owner, "widget", "0.1.0", hosted).status_code == 201

    project = tmp_path / "project"
    project.mkdir()
    env = cli_env(proxy.url, None, tmp_path)
    installed = vouch("install", "toolkit", "widget", env=env, cwd=project)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    modules = project / "vouch_modules"
    assert (modules / "toolkit" / "package" / "toolkit.txt").read_bytes() == \
        b"upstream toolkit 1.0.0"
    assert (modules / "helper" / "package" / "helper.txt").read_bytes() == \
        b"upstream helper 1.2.0"
    # the hosted name: this registry's version, never the upstream's higher ones
    assert (modules / "widget" / "package" / "widget.txt").read_bytes() == \
        b"private widget 0.1.0"
    lock = (project / "vouch.lock").read_text()
    assert 'version = "0.1.0"' in lock and "2.0.0" not in lock and "1.1.0" not in lock
    with session_scope(proxy.registry.engine) as session:
        assert sorted((r.name, r.version) for r in session.exec(select(ProxyFile))) == [
            ("helper", "1.2.0"), ("toolkit", "1.0.0")]  # verified, kept; no widget asked for
        kept = {p.name for p in session.exec(select(ProxyPage))}
    assert not any(name.startswith("widget") for name in kept)
    # the batch endpoint itself: upstream entries at this registry's URLs, hosted ones local
    batch = httpx.post(f"{proxy.url}/api/v1/metadata",
                       json={"names": ["toolkit", "widget", "nowhere"]})
    assert batch.status_code == 200 and batch.headers["x-vouch-upstream"] == "vouch-up"
    body = batch.json()
    assert body["missing"] == ["nowhere"]
    assert [v["version"] for v in body["packages"]["widget"]["versions"]] == ["0.1.0"]
    toolkit = body["packages"]["toolkit"]["versions"][0]
    assert toolkit["artifact_url"] == "/api/v1/packages/toolkit/versions/1.0.0/artifact"
    assert toolkit["dependencies"] == {"helper": "^1"}
    assert toolkit["signing_method"] == "gpg"


def test_batch_metadata_is_cached_served_stale_and_fails_clearly_with_nothing_kept(
        proxy: RunningServer, upstream: Upstream, widget: str, session_signing: SessionSigning,
        ) -> None:
    local = Actors(proxy, session_signing)
    owner = local.client(local.user("root", admin=True))
    assert owner.post("/api/v1/orgs", json={"name": "acme"}).status_code == 201
    assert owner.post("/api/v1/orgs/acme/reservations",
                      json={"name": "internal-tool"}).status_code == 201
    up = upstream.actors.client(widget)
    assert publish(up, "internal-tool", "9.0.0", b"public shadow").status_code == 201
    first = httpx.post(f"{proxy.url}/api/v1/metadata",
                       json={"names": ["widget", "internal-tool", "@acme/x"]})
    assert first.status_code == 200, first.text
    assert sorted(first.json()["missing"]) == ["@acme/x", "internal-tool"]  # never upstream
    assert [v["version"] for v in first.json()["packages"]["widget"]["versions"]] == [
        "1.0.0", "1.1.0"]
    with session_scope(proxy.registry.engine) as session:
        assert [p.name for p in session.exec(select(ProxyPage))] == ["widget@"]

    upstream.stop()
    again = httpx.post(f"{proxy.url}/api/v1/metadata", json={"names": ["widget"]})
    assert again.json() == {**first.json(), "missing": []} and "warning" not in again.headers
    proxy.clock.advance(timedelta(minutes=11))
    stale = httpx.post(f"{proxy.url}/api/v1/metadata", json={"names": ["widget"]})
    assert stale.status_code == 200 and stale.headers["warning"] == '110 - "Response is Stale"'
    assert stale.json()["packages"] == first.json()["packages"]
    before = _state(proxy)
    assert_problem(httpx.post(f"{proxy.url}/api/v1/metadata",
                              json={"names": ["widget", "other"]}), 502, "upstream_unavailable")
    assert _state(proxy) == before
