"""npm upstream provenance through the proxy (issue 17): a second real Vouch is the ``npm``
upstream, serving ``dist.attestations`` for a version published with provenance signed by the
local Sigstore instance (Verdaccio serves none). The proxy fetches the attestations document,
verifies the SLSA provenance bundle (this package URL, the tarball's digests, a workflow of the
repository the manifest names) and records the tarball as signed; under ``unsigned =
"refuse"`` a version without provenance is not offered, and one whose provenance does not
verify is refused (403 ``upstream_unsigned``) with nothing stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import func, select

from app.core.clock import ManualClock
from app.core.config import Settings
from app.core.db import session_scope
from app.proxy.models import ProxyFile
from tests.conftest import Actors
from tests.functional.helpers import assert_problem
from tests.functional.npm_support import package_json, path, publish_body, tarball
from tests.functional.test_npm_protocol import _provenance, signed_body
from tests.support.databases import DatabaseFactory
from tests.support.server import RunningServer, running_registry

REPOSITORY = {"type": "git", "url": "git+https://github.com/vouch-tests/ci.git"}


@pytest.fixture
def proxy(server: RunningServer, settings: Settings, db_factory: DatabaseFactory,
          tmp_path: Path) -> Iterator[RunningServer]:
    """A second registry whose npm upstream is ``server`` and refuses unsigned versions."""
    config = tmp_path / "upstreams.toml"
    config.write_text(f'[[upstream]]\nname = "vouch-npm"\nformat = "npm"\n'
                      f'url = "{server.url}/npm/"\nunsigned = "refuse"\n')
    with db_factory.fresh(tmp_path / "proxy-db") as url:
        proxy_settings = settings.model_copy(update={
            "data_dir": tmp_path / "proxy-data", "database_url": url, "upstreams": config})
        with running_registry(proxy_settings, ManualClock()) as running:
            yield running


@pytest.fixture
def published(actors: Actors, server: RunningServer) -> dict[str, bytes]:
    """On the upstream: left-pad 1.0.0 with provenance of vouch-tests/ci (the repository its
    manifest names), 1.0.1 with provenance but a manifest naming another repository, and
    plain-pad 1.0.0 signed with GPG only (no provenance)."""
    ci = actors.client(actors.user("ci", signing="sigstore"))
    signer = actors.signers["ci"]
    signer.trust("left-pad", signer.identity)  # type: ignore[attr-defined]
    tarballs = {}
    for version, repository in (("1.0.0", REPOSITORY),
                                ("1.0.1", "https://github.com/someone-else/left-pad")):
        manifest = package_json("left-pad", version, repository=repository)
        data = tarballs[version] = tarball(manifest)
        bundle = _provenance(actors, "ci", f"pkg:npm/left-pad@{version}", data)
        answer = ci.put(path("left-pad"), json=publish_body(
            "left-pad", version, data, manifest=manifest, provenance=bundle))
        assert answer.status_code == 201, answer.text
    alice = actors.client(actors.user("alice"))
    manifest = package_json("plain-pad", "1.0.0")
    data = tarballs["plain"] = tarball(manifest)
    answer = alice.put(path("plain-pad"), json=signed_body(
        actors, "alice", "plain-pad", "1.0.0", data, manifest=manifest))
    assert answer.status_code == 201, answer.text
    upstream_dist = httpx.get(f"{server.url}/npm/left-pad").json()["versions"]["1.0.0"]["dist"]
    assert upstream_dist["attestations"]["url"]  # the upstream offers provenance
    return tarballs


def _cached(proxy: RunningServer) -> list[tuple[str, bool]]:
    with session_scope(proxy.registry.engine) as session:
        return sorted((row.filename, row.signed) for row in session.exec(select(ProxyFile)))


def test_verified_npm_provenance_is_recorded_and_unsigned_versions_are_refused(
        proxy: RunningServer, published: dict[str, bytes]) -> None:
    doc = httpx.get(f"{proxy.url}/npm/left-pad").json()
    assert set(doc["versions"]) == {"1.0.0", "1.0.1"}  # both offer provenance
    answer = httpx.get(f"{proxy.url}/npm/left-pad/-/left-pad-1.0.0.tgz")
    assert answer.status_code == 200, answer.text
    assert answer.content == published["1.0.0"] and "warning" not in answer.headers
    assert _cached(proxy) == [("left-pad-1.0.0.tgz", True)]

    # provenance signed by a workflow of another repository than the manifest names
    refused = httpx.get(f"{proxy.url}/npm/left-pad/-/left-pad-1.0.1.tgz")
    assert_problem(refused, 403, "upstream_unsigned")
    # no provenance at all: not offered, and refused when asked for anyway
    assert httpx.get(f"{proxy.url}/npm/plain-pad").json()["versions"] == {}
    assert_problem(httpx.get(f"{proxy.url}/npm/plain-pad/-/plain-pad-1.0.0.tgz"), 403,
                   "upstream_unsigned")
    assert _cached(proxy) == [("left-pad-1.0.0.tgz", True)]  # nothing else stored
    with session_scope(proxy.registry.engine) as session:
        assert session.exec(select(func.count()).select_from(ProxyFile)).one() == 1
    assert len(proxy.registry.blobs.keys()) == 1
