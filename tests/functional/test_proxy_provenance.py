"""Upstream PEP 740 provenance (issue 17): a second Vouch is the proxy's pypi upstream (the
only index here that serves provenance; pypiserver serves none). Its files' attestations are
fetched and verified (the local Sigstore instance's trust root, the publisher the provenance
names, this filename and the advertised sha256) before the file is stored; under
``unsigned = "refuse"`` a file without provenance is not offered and one whose provenance does
not verify is refused with nothing stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import func, select

from app.core.clock import ManualClock
from app.core.config import Settings
from app.core.db import session_scope
from app.core.models import Provenance
from app.proxy.models import ProxyFile
from tests.conftest import Actors
from tests.functional.clihelp import cli_env, vouch
from tests.functional.pypi_clients import pip
from tests.functional.test_pypi_attestations import WORKFLOW, upload
from tests.support.attestations import make_attestation
from tests.support.databases import DatabaseFactory
from tests.support.pydists import build_sdist, build_wheel
from tests.support.server import RunningServer, running_registry
from tests.support.sigstore_local import SigstoreInstance

JSON = "application/vnd.pypi.simple.v1+json"


@pytest.fixture
def proxy(server: RunningServer, settings: Settings, db_factory: DatabaseFactory,
          tmp_path: Path) -> Iterator[RunningServer]:
    """A second registry whose pypi upstream is ``server`` and refuses unsigned files."""
    config = tmp_path / "upstreams.toml"
    config.write_text(f'[[upstream]]\nname = "vouch-upstream"\nformat = "pypi"\n'
                      f'url = "{server.url}/simple/"\nunsigned = "refuse"\n')
    with db_factory.fresh(tmp_path / "proxy-db") as url:
        proxy_settings = settings.model_copy(update={
            "data_dir": tmp_path / "proxy-data", "database_url": url, "upstreams": config})
        with running_registry(proxy_settings, ManualClock()) as running:
            yield running


@pytest.fixture
def published(actors: Actors, server: RunningServer, sigstore_instance: SigstoreInstance,
              tmp_path: Path) -> Path:
    """widget 1.0 (a wheel with a PEP 740 attestation of acme/widget's release.yml) and
    widget 1.1 (an sdist signed with GPG only: no provenance) on the upstream."""
    token = actors.user("alice")
    assert actors.client(token).post("/api/v1/trusted-publishers", json={
        "target": "widget", "repository": "acme/widget", "workflow": "release.yml"}
    ).status_code == 201
    wheel = build_wheel(tmp_path, "widget", "1.0")
    attestation = make_attestation(sigstore_instance, wheel.read_bytes(), wheel.name, WORKFLOW)
    assert upload(server.url, token, wheel, attestations=[attestation]).status_code == 200
    sdist = build_sdist(tmp_path, "widget", "1.1")
    signature = actors.signers["alice"].sign(sdist.read_bytes())  # type: ignore[attr-defined]
    assert upload(server.url, token, sdist, gpg_signature=signature,
                  version="1.1").status_code == 200
    return wheel


def _cached(proxy: RunningServer) -> list[tuple[str, bool]]:
    with session_scope(proxy.registry.engine) as session:
        return [(row.filename, row.signed) for row in session.exec(select(ProxyFile))]


def test_verified_provenance_is_served_and_unsigned_files_are_not_offered(
        proxy: RunningServer, published: Path, tmp_path: Path) -> None:
    page = httpx.get(proxy.url + "/simple/widget/", headers={"Accept": JSON}).json()
    assert [f["filename"] for f in page["files"]] == [published.name]  # not the GPG-only sdist
    result = pip(["download", "--no-deps", "-d", str(tmp_path / "d"), "widget"], proxy.url,
                 tmp_path / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "d" / published.name).read_bytes() == published.read_bytes()
    # pip read the core metadata first (PEP 658, checked against its advertised hash)
    cached = sorted(_cached(proxy))
    assert cached == [(published.name, True), (published.name + ".metadata", False),
                      (published.name + ".provenance", True)]  # kept with the file
    served = httpx.get(f"{proxy.url}/pypi/files/widget/1.0/{published.name}")
    assert served.status_code == 200 and "warning" not in served.headers
    refused = httpx.get(f"{proxy.url}/pypi/files/widget/1.1/widget-1.1.tar.gz")
    assert refused.status_code == 403 and refused.json()["code"] == "upstream_unsigned"
    assert sorted(_cached(proxy)) == cached


def test_provenance_that_does_not_verify_is_refused_and_nothing_stored(
        proxy: RunningServer, server: RunningServer, published: Path) -> None:
    # the upstream's provenance now names another workflow than the one that signed
    with session_scope(server.registry.engine, write=True) as session:
        row = session.exec(select(Provenance).where(Provenance.method == "sigstore")).one()
        document = json.loads(row.raw)
        document["attestation_bundles"][0]["publisher"]["workflow"] = "other.yml"
        row.raw = json.dumps(document)
        session.add(row)
    answer = httpx.get(f"{proxy.url}/pypi/files/widget/1.0/{published.name}")
    assert answer.status_code == 403, answer.text
    assert answer.json()["code"] == "upstream_unsigned"
    with session_scope(proxy.registry.engine) as session:
        assert session.exec(select(func.count()).select_from(ProxyFile)).one() == 0
    assert proxy.registry.blobs.keys() == []


def test_verified_provenance_is_linked_and_served_so_consumers_check_it(
        proxy: RunningServer, server: RunningServer, published: Path, tmp_path: Path,
        sigstore_trusted_root_path: Path) -> None:
    link = f"/integrity/widget/1.0/{published.name}/provenance"
    page = httpx.get(proxy.url + "/simple/widget/", headers={"Accept": JSON}).json()
    assert [f["provenance"] for f in page["files"]] == [link]
    html = httpx.get(proxy.url + "/simple/widget/").text
    assert f'data-provenance="{link}"' in html
    # the consumer's own check: the proxied file's attestations, verified on this machine
    requirements = tmp_path / "requirements.txt"
    wheel_hash = hashlib.sha256(published.read_bytes()).hexdigest()
    requirements.write_text(f"widget==1.0 --hash=sha256:{wheel_hash}\n")
    done = vouch("verify", "--json", "--requirements", str(requirements), "--trust",
                 str(sigstore_trusted_root_path), env=cli_env(proxy.url, None, tmp_path),
                 cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    entry = json.loads(done.stdout)["entries"][0]
    assert [(f["check"], f["outcome"]) for f in entry["findings"]] == [
        ("checksum", "pass"), ("signature", "pass")]
    served = httpx.get(proxy.url + link)
    assert served.status_code == 200
    assert served.headers["content-type"] == "application/vnd.pypi.integrity.v1+json"
    assert served.content == httpx.get(server.url + link).content  # the upstream's, verified
    # kept write-once with the file: served with the upstream gone from the answer's path
    assert sorted(_cached(proxy)) == [(published.name, True),
                                      (published.name + ".provenance", True)]
    # a file without verified provenance has none to serve, and nothing is fetched for it
    missing = httpx.get(proxy.url + "/integrity/widget/1.1/widget-1.1.tar.gz/provenance")
    assert missing.status_code == 403 and missing.json()["code"] == "upstream_unsigned"


REAL = Path(__file__).parents[1] / "data" / "signatures" / "pypi-attestations"
GITLAB_IDENTITY = "https://gitlab.com/facutuesca/gitlab-oidc-project//.gitlab-ci.yml@refs/heads/main"


@pytest.mark.parametrize("settings_overrides", [{"sigstore_trust": "public-good"}],
                         indirect=True)
def test_a_gitlab_publishers_provenance_is_verified_through_the_proxy(
        proxy: RunningServer, server: RunningServer, actors: Actors) -> None:
    """A real GitLab CI attestation (production Sigstore), uploaded to the upstream by a
    GitLab identity publisher: the proxy verifies it (not only GitHub publishers) and serves
    the file under ``unsigned = "refuse"``."""
    token = actors.user("facu")
    assert actors.client(token).post("/api/v1/trusted-publishers", json={
        "target": "gitlab-oidc-project", "provider": "identity", "identity": GITLAB_IDENTITY,
        "issuer": "https://gitlab.com"}).status_code == 201
    sdist = REAL / "gitlab_oidc_project-0.0.3.tar.gz"
    attestation = json.loads((REAL / f"{sdist.name}.publish.attestation").read_text())
    answer = upload(server.url, token, sdist, attestations=[attestation],
                    name="gitlab-oidc-project", version="0.0.3")
    assert answer.status_code == 200, answer.text
    link = f"/integrity/gitlab-oidc-project/0.0.3/{sdist.name}/provenance"
    upstream_doc = httpx.get(server.url + link).json()
    assert upstream_doc["attestation_bundles"][0]["publisher"]["kind"] == "GitLab"

    page = httpx.get(proxy.url + "/simple/gitlab-oidc-project/", headers={"Accept": JSON})
    assert [f["provenance"] for f in page.json()["files"]] == [link]
    served = httpx.get(f"{proxy.url}/pypi/files/gitlab-oidc-project/0.0.3/{sdist.name}")
    assert served.status_code == 200, served.text
    assert served.content == sdist.read_bytes() and "warning" not in served.headers
    assert sorted(_cached(proxy)) == [(sdist.name, True), (sdist.name + ".provenance", True)]
    assert httpx.get(proxy.url + link).json() == upstream_doc
