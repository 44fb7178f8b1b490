"""The upstream proxy for Python (issue 17) against a real pypiserver 2.4.2 on loopback, with the
real pip as the only index: cold miss then hit, a digest the upstream changes after caching
(alert, old bytes kept), bytes that do not match the upstream's advertised hash (refused,
nothing stored), the upstream going down (cached files still install, uncached ones fail with
a problem+json 502), a hosted private name that also exists upstream with a higher version
(never offered), and a reserved name (never asked for upstream).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import func, select

from app.core.db import session_scope
from app.core.models import AuditEvent
from app.proxy.models import ProxyFile, ProxyPage
from app.publishing.sweep import sweep_orphans
from tests.conftest import Actors
from tests.functional.clihelp import cli_env, vouch
from tests.functional.pypi_clients import pip, uv
from tests.functional.test_pypi_clients import _upload_signed
from tests.support.pydists import build_wheel
from tests.support.pypiserver import PypiServer
from tests.support.server import RunningServer

JSON = "application/vnd.pypi.simple.v1+json"


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[PypiServer]:
    packages = tmp_path / "upstream" / "packages"
    packages.mkdir(parents=True)
    build_wheel(packages, "public-lib", "2.0")
    build_wheel(packages, "internal-lib", "9.0")
    build_wheel(packages, "secret-tool", "1.0")
    with PypiServer.start(packages) as server:
        yield server


@pytest.fixture
def settings_overrides(upstream: PypiServer, tmp_path: Path) -> dict[str, object]:
    config = tmp_path / "upstreams.toml"
    config.write_text(f'[[upstream]]\nname = "pypi-upstream"\nformat = "pypi"\n'
                      f'url = "{upstream.url}"\nmetadata_ttl = "10m"\ntimeout = "5s"\n')
    return {"upstreams": config}


def _proxy_state(server: RunningServer) -> tuple[int, int, int]:
    with session_scope(server.registry.engine) as session:
        files = session.exec(select(func.count()).select_from(ProxyFile)).one()
        pages = session.exec(select(func.count()).select_from(ProxyPage)).one()
    return files, pages, len(server.registry.blobs.keys())


def test_cold_miss_then_hit_with_pip(server: RunningServer, upstream: PypiServer,
                                     tmp_path: Path) -> None:
    wheel = upstream.packages / "public_lib-2.0-py3-none-any.whl"
    first = pip(["download", "--no-deps", "-d", str(tmp_path / "a"), "public-lib"],
                server.url, tmp_path / "home")
    assert first.returncode == 0, first.stdout + first.stderr
    got = tmp_path / "a" / wheel.name
    assert got.read_bytes() == wheel.read_bytes()
    assert _proxy_state(server) == (1, 1, 1)
    status = httpx.get(server.url + "/api/v1/proxy/status").json()["upstreams"][0]
    assert status["name"] == "pypi-upstream" and status["cached_files"] == 1
    assert status["cache_bytes"] == wheel.stat().st_size and status["downloads"] == 1

    upstream.stop()  # from now on only the cache can answer
    second = pip(["install", "--no-deps", "--target", str(tmp_path / "t"), "public-lib"],
                 server.url, tmp_path / "home2")
    assert second.returncode == 0, second.stdout + second.stderr
    assert (tmp_path / "t" / "public_lib" / "__init__.py").exists()
    status = httpx.get(server.url + "/api/v1/proxy/status").json()["upstreams"][0]
    assert status["downloads"] == 2 and status["hits"] >= 2
    shown = vouch("proxy", "status", env=cli_env(server.url, None, tmp_path), cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "pypi-upstream  pypi" in shown.stdout and "1 files" in shown.stdout
    assert "pypi-upstream" in httpx.get(server.url + "/proxy").text

    # the TTL passes while the upstream is down: the page is served stale, marked
    server.clock.advance(timedelta(minutes=11))
    page = httpx.get(server.url + "/simple/public-lib/", headers={"Accept": JSON})
    assert page.status_code == 200 and page.headers["warning"] == '110 - "Response is Stale"'
    assert [f["filename"] for f in page.json()["files"]] == [wheel.name]
    # a name never cached: a clear problem+json 502, nothing stored
    before = _proxy_state(server)
    missing = httpx.get(server.url + "/simple/never-seen/")
    assert missing.status_code == 502
    assert missing.headers["content-type"] == "application/problem+json"
    assert missing.json()["code"] == "upstream_unavailable"
    assert _proxy_state(server) == before


def test_changed_digest_upstream_is_an_alert_and_old_bytes_stay(
        server: RunningServer, actors: Actors, upstream: PypiServer) -> None:
    name = "public_lib-2.0-py3-none-any.whl"
    original = (upstream.packages / name).read_bytes()
    url = f"{server.url}/pypi/files/public-lib/2.0/{name}"
    assert httpx.get(server.url + "/simple/public-lib/").status_code == 200
    assert httpx.get(url).content == original
    # another spelling of the project in the file URL is the same cached file
    assert httpx.get(url.replace("/public-lib/", "/Public_Lib/")).content == original
    with session_scope(server.registry.engine) as session:
        assert session.exec(select(ProxyFile.name)).all() == ["public-lib"]
    build_wheel(upstream.packages, "public-lib", "2.0", marker="changed upstream")
    changed = hashlib.sha256((upstream.packages / name).read_bytes()).hexdigest()
    assert changed != hashlib.sha256(original).hexdigest()

    assert httpx.post(server.url + "/api/v1/proxy/purge", json={}).status_code == 401
    admin = {"Authorization": f"Bearer {actors.user('root', admin=True)}"}
    purged = httpx.post(server.url + "/api/v1/proxy/purge", json={"name": "public-lib"},
                        headers=admin)
    assert purged.json() == {"purged": 1}  # the page is fetched again from the upstream
    page = httpx.get(server.url + "/simple/public-lib/", headers={"Accept": JSON}).json()
    assert page["files"][0]["hashes"]["sha256"] == hashlib.sha256(original).hexdigest()
    assert httpx.get(url).content == original
    with session_scope(server.registry.engine) as session:
        alerts = session.exec(select(AuditEvent).where(
            AuditEvent.action == "proxy:digest-changed")).all()
    assert len(alerts) == 1
    assert alerts[0].details["upstream_sha256"] == changed
    assert alerts[0].details["cached_sha256"] == hashlib.sha256(original).hexdigest()
    assert httpx.get(server.url + "/api/v1/proxy/status").json()["upstreams"][0][
        "digest_alerts"] == 1


def test_bytes_not_matching_the_advertised_hash_are_refused_and_nothing_stored(
        server: RunningServer, upstream: PypiServer) -> None:
    name = "public_lib-2.0-py3-none-any.whl"
    page = httpx.get(server.url + "/simple/public-lib/", headers={"Accept": JSON}).json()
    advertised = page["files"][0]["hashes"]["sha256"]
    # within the TTL the page says `advertised`; the upstream now serves other bytes
    build_wheel(upstream.packages, "public-lib", "2.0", marker="tampered")
    assert hashlib.sha256((upstream.packages / name).read_bytes()).hexdigest() != advertised
    before = _proxy_state(server)
    answer = httpx.get(f"{server.url}/pypi/files/public-lib/2.0/{name}")
    assert answer.status_code == 502
    assert answer.json()["code"] == "upstream_digest_mismatch"
    assert _proxy_state(server) == before == (0, 1, 0)


def test_hosted_name_never_resolves_upstream(server: RunningServer, actors: Actors,
                                             upstream: PypiServer, tmp_path: Path) -> None:
    token = actors.user("alice")
    dist = tmp_path / "dist"
    dist.mkdir()
    _upload_signed(server, actors, "alice", token, [build_wheel(dist, "Internal_Lib", "1.0")],
                   tmp_path / "home")
    page = httpx.get(server.url + "/simple/internal-lib/", headers={"Accept": JSON}).json()
    assert page["versions"] == ["1.0"]
    assert "x-vouch-upstream" not in httpx.get(server.url + "/simple/internal-lib/").headers
    result = pip(["download", "--no-deps", "-d", str(tmp_path / "d"), "internal-lib"],
                 server.url, tmp_path / "home2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert [p.name for p in (tmp_path / "d").iterdir()] == ["internal_lib-1.0-py3-none-any.whl"]
    # not even a version the hosted package lacks, under any spelling
    for spelling in ("internal-lib", "Internal_Lib", "internal.lib"):
        missing = httpx.get(f"{server.url}/pypi/files/{spelling}/9.0/"
                            "internal_lib-9.0-py3-none-any.whl")
        assert missing.status_code == 404
    assert _proxy_state(server)[:2] == (0, 0)


def test_reserved_name_never_resolves_upstream(server: RunningServer, actors: Actors,
                                               upstream: PypiServer, tmp_path: Path) -> None:
    token = actors.user("alice")
    auth = {"Authorization": f"Bearer {token}"}
    assert httpx.post(server.url + "/api/v1/orgs", json={"name": "acme"},
                      headers=auth).status_code == 201
    env = cli_env(server.url, token, tmp_path)
    reserved = vouch("org", "reserve", "acme", "Secret_Tool", env=env, cwd=tmp_path)
    assert reserved.returncode == 0, reserved.stdout + reserved.stderr
    assert "reserved Secret_Tool for acme" in reserved.stdout
    scope = vouch("org", "reserve", "acme", "@acme-internal", "--json", env=env, cwd=tmp_path)
    assert json.loads(scope.stdout) == {"org": "acme", "name": "@acme-internal"}
    again = httpx.post(server.url + "/api/v1/orgs/acme/reservations",
                       json={"name": "secret.tool"}, headers=auth)
    assert again.status_code == 409 and again.json()["code"] == "already_exists"
    other = actors.user("mallory")
    refused = httpx.post(server.url + "/api/v1/orgs/acme/reservations", json={"name": "x"},
                         headers={"Authorization": f"Bearer {other}"})
    assert refused.status_code == 403
    assert httpx.get(server.url + "/simple/secret-tool/").status_code == 404
    assert httpx.get(server.url + "/pypi/files/secret-tool/1.0/"
                     "secret_tool-1.0-py3-none-any.whl").status_code == 404
    assert _proxy_state(server) == (0, 0, 0)
    with session_scope(server.registry.engine) as session:
        assert session.exec(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "org:reserve-name")).one() == 2


def test_uv_installs_through_the_proxy_with_hashes(server: RunningServer, upstream: PypiServer,
                                                   tmp_path: Path) -> None:
    """uv reads the JSON API (which pypiserver does not speak: Vouch translates its HTML) and
    checks every hash it is given."""
    wheel = upstream.packages / "public_lib-2.0-py3-none-any.whl"
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"public-lib==2.0 --hash=sha256:{digest}\n")
    target = tmp_path / "target"
    result = uv(["pip", "install", "--index-url", f"{server.url}/simple/", "--target",
                 str(target), "--require-hashes", "-r", str(requirements), "--python",
                 sys.executable], tmp_path / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (target / "public_lib" / "__init__.py").read_text().startswith('VERSION = "2.0"')
    assert _proxy_state(server) == (1, 1, 1)


def test_cached_files_survive_the_orphan_sweep(server: RunningServer,
                                               upstream: PypiServer) -> None:
    """Cached upstream bytes have no package version referencing them; the sweep (issue 10)
    must still keep them: they are served for ever."""
    name = "public_lib-2.0-py3-none-any.whl"
    url = f"{server.url}/pypi/files/public-lib/2.0/{name}"
    httpx.get(server.url + "/simple/public-lib/")
    assert httpx.get(url).status_code == 200
    server.clock.advance(timedelta(days=2))
    registry = server.registry
    assert sweep_orphans(registry.engine, registry.blobs, registry.clock,
                         min_age=timedelta(0)) == []
    upstream.stop()
    assert httpx.get(url).content == (upstream.packages / name).read_bytes()
