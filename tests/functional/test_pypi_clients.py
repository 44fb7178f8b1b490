"""Python packages through Vouch with the real clients (issue 14): twine uploads (GPG ``.asc``),
pip and uv install through ``/simple/`` with hash checking, and what each sees of yanks,
unpublishes and quarantine. Everything is signed: the server runs the product's default
policy (``any``), so an upload needs a GPG signature by a registered key of an owner.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
from sqlmodel import select

from app.core.db import session_scope
from app.core.models import AuditEvent, Package, PackageFile, PackageVersion, Provenance
from tests.conftest import Actors, state_counts
from tests.functional.pypi_clients import pip, twine_upload, uv
from tests.support.attestations import make_attestation
from tests.support.pydists import build_sdist, build_wheel
from tests.support.server import RunningServer
from tests.support.sigstore_local import GitHubIdentity, SigstoreInstance

JSON = "application/vnd.pypi.simple.v1+json"


def _sign(actors: Actors, user: str, path: Path) -> Path:
    signer = actors.signers[user]
    asc = path.with_name(path.name + ".asc")
    asc.write_bytes(signer.sign(path.read_bytes()))  # type: ignore[attr-defined]
    return asc


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _upload_signed(server: RunningServer, actors: Actors, user: str, token: str,
                   files: list[Path], home: Path) -> None:
    signed = [p for f in files for p in (f, _sign(actors, user, f))]
    result = twine_upload(server.url, token, signed, home)
    assert result.returncode == 0, result.stdout + result.stderr


def test_twine_upload_with_gpg_then_pip_installs_with_hashes(
        server: RunningServer, actors: Actors, tmp_path: Path) -> None:
    token = actors.user("alice")
    dist = tmp_path / "dist"
    dist.mkdir()
    wheel = build_wheel(dist, "Foo.Bar", "1.0", requires_python=">=3.8")
    sdist = build_sdist(dist, "Foo.Bar", "1.0")
    _upload_signed(server, actors, "alice", token, [wheel, sdist], tmp_path / "home")

    registry = server.registry
    with session_scope(registry.engine) as session:
        package = session.exec(select(Package).where(Package.name == "foo-bar")).one()
        assert package.ecosystem == "pypi"
        files = session.exec(select(PackageFile).order_by(PackageFile.filename)).all()
        assert [(f.filename, f.filetype) for f in files] == [
            ("foo_bar-1.0-py3-none-any.whl", "bdist_wheel"), ("foo_bar-1.0.tar.gz", "sdist")]
        assert files[0].requires_python == ">=3.8"
        assert files[0].core_metadata is not None and b"Name: Foo.Bar" in files[0].core_metadata
        methods = session.exec(select(Provenance.method)).all()
        assert methods == ["gpg", "gpg"]
        assert session.exec(select(PackageVersion.version)).all() == ["1.0"]

    with httpx.Client(base_url=server.url) as http:
        page = http.get("/simple/foo-bar/")
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert page.headers["vary"] == "Accept"
        html = page.text
        assert f'/pypi/files/foo-bar/1.0/foo_bar-1.0-py3-none-any.whl#sha256={_sha256(wheel)}"' \
            in html
        assert 'data-requires-python="&gt;=3.8"' in html
        assert '<meta name="pypi:repository-version" content="1.4">' in html
        assert http.get("/simple/Foo_Bar/", follow_redirects=False).headers["location"] == \
            "/simple/foo-bar/"
        assert http.get("/simple/Foo_Bar/", follow_redirects=False).status_code == 301
        doc = http.get("/simple/foo-bar/", headers={"Accept": JSON}).json()
        assert doc["meta"]["api-version"] == "1.4"
        assert doc["versions"] == ["1.0"]
        assert doc["project-status"] == {"status": "active"}
        whl = next(f for f in doc["files"] if f["filename"].endswith(".whl"))
        assert whl["hashes"] == {"sha256": _sha256(wheel)}
        assert whl["size"] == wheel.stat().st_size
        assert whl["yanked"] is False and whl["upload-time"].endswith("Z")
        metadata = http.get(whl["url"] + ".metadata")
        assert metadata.status_code == 200
        assert whl["core-metadata"] == {"sha256": hashlib.sha256(metadata.content).hexdigest()}
        assert f'data-core-metadata="sha256={whl["core-metadata"]["sha256"]}"' in html
        listing = http.get("/simple/", headers={"Accept": JSON}).json()
        assert listing["projects"] == [{"name": "foo-bar"}]

    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"foo-bar==1.0 --hash=sha256:{_sha256(wheel)}\n")
    downloaded = pip(["download", "--require-hashes", "--only-binary", ":all:", "-r",
                      str(requirements), "-d", str(tmp_path / "dl")], server.url,
                     tmp_path / "home")
    assert downloaded.returncode == 0, downloaded.stdout + downloaded.stderr
    assert (tmp_path / "dl" / wheel.name).read_bytes() == wheel.read_bytes()
    target = tmp_path / "target"
    installed = pip(["install", "--require-hashes", "-r", str(requirements), "--target",
                     str(target)], server.url, tmp_path / "home")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (target / "foo_bar" / "__init__.py").read_text().startswith('VERSION = "1.0"')

    wrong = tmp_path / "wrong.txt"
    wrong.write_text(f"foo-bar==1.0 --hash=sha256:{'0' * 64}\n")
    refused = pip(["download", "--require-hashes", "-r", str(wrong), "-d",
                   str(tmp_path / "dl2")], server.url, tmp_path / "home")
    assert refused.returncode != 0
    assert "THESE PACKAGES DO NOT MATCH THE HASHES" in refused.stderr

    registry.downloads.flush()
    with session_scope(registry.engine) as session:
        # Counted as native downloads: pip download, pip install, and the refused download
        # (pip fetched the bytes before it compared their hash).
        assert session.exec(select(PackageVersion.downloads)).one() == 3


def test_uv_installs_through_the_json_api(server: RunningServer, actors: Actors,
                                          tmp_path: Path) -> None:
    token = actors.user("alice")
    dist = tmp_path / "dist"
    dist.mkdir()
    old = build_wheel(dist, "widget-lib", "1.0")
    new = build_wheel(dist, "widget-lib", "1.1", requires_python=">=3.8")
    _upload_signed(server, actors, "alice", token, [old, new], tmp_path / "home")
    import sys

    target = tmp_path / "target"
    result = uv(["pip", "install", "--python", sys.executable, "--target", str(target),
                 "--index-url", f"{server.url}/simple/", "widget-lib<2"], tmp_path / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (target / "widget_lib" / "__init__.py").read_text().startswith('VERSION = "1.1"')
    requirements = tmp_path / "req.in"
    requirements.write_text("widget-lib\n")
    locked = uv(["pip", "compile", "--python", sys.executable, "--generate-hashes",
                 "--index-url", f"{server.url}/simple/", str(requirements)], tmp_path / "home")
    assert locked.returncode == 0, locked.stdout + locked.stderr
    assert "widget-lib==1.1" in locked.stdout
    assert f"--hash=sha256:{_sha256(new)}" in locked.stdout


def test_refused_uploads_leave_nothing_behind(server: RunningServer, actors: Actors,
                                              tmp_path: Path) -> None:
    alice = actors.user("alice")
    bob = actors.user("bob")
    dist = tmp_path / "dist"
    dist.mkdir()
    first = build_wheel(dist, "owned", "1.0")
    _upload_signed(server, actors, "alice", alice, [first], tmp_path / "home")
    before = state_counts(server)

    # Unsigned under the default policy: twine fails, the server says why.
    unsigned = build_wheel(dist, "owned", "1.1")
    result = twine_upload(server.url, alice, [unsigned], tmp_path / "home")
    assert result.returncode != 0
    assert "signature_required" in result.stdout + result.stderr

    # Not an owner: bob signs with his own registered key, still refused.
    bobs = build_wheel(dist, "owned", "1.2")
    result = twine_upload(server.url, bob, [bobs, _sign(actors, "bob", bobs)],
                          tmp_path / "home")
    assert result.returncode != 0
    assert "403" in result.stdout + result.stderr

    # The metadata in the file names another project than the filename.
    other = tmp_path / "other"
    other.mkdir()
    mismatch = build_wheel(other, "owned", "1.3", metadata_name="something-else")
    result = twine_upload(server.url, alice, [mismatch, _sign(actors, "alice", mismatch)],
                          tmp_path / "home")
    assert result.returncode != 0

    with httpx.Client(base_url=server.url, auth=("__token__", alice)) as http:
        response = _post(http, mismatch, {"name": "owned", "version": "1.3"},
                         signature=_sign(actors, "alice", mismatch))
        assert response.status_code == 400
        assert response.json()["code"] == "metadata_mismatch"
        big_dir = tmp_path / "big"
        big_dir.mkdir()
        big = build_wheel(big_dir, "owned", "1.4", padding=1024 * 1024 + 10, marker="big")
        response = _post(http, big, {"name": "owned", "version": "1.4"},
                         signature=_sign(actors, "alice", big))
        assert response.status_code == 413
        assert response.json()["code"] == "payload_too_large"
        assert "File too large" in response.json()["detail"]
        response = _post(http, unsigned, {"name": "owned", "version": "1.1"})
        assert (response.status_code, response.json()["code"]) == (400, "signature_required")
        response = _post(http, unsigned, {"name": "owned", "version": "1.1"},
                         sha256="0" * 64, signature=_sign(actors, "alice", unsigned))
        assert (response.status_code, response.json()["code"]) == (400, "digest_mismatch")
    with httpx.Client(base_url=server.url, auth=("alice", alice)) as http:
        response = _post(http, unsigned, {"name": "owned", "version": "1.1"})
        assert response.status_code == 403  # only __token__ authenticates uploads

    assert state_counts(server) == before
    with httpx.Client(base_url=server.url) as http:
        doc = http.get("/simple/owned/", headers={"Accept": JSON}).json()
        assert doc["versions"] == ["1.0"]
        assert [f["filename"] for f in doc["files"]] == [first.name]


def test_reuploads_duplicates_and_second_sdist(server: RunningServer, actors: Actors,
                                               tmp_path: Path) -> None:
    token = actors.user("alice")
    dist = tmp_path / "dist"
    dist.mkdir()
    wheel = build_wheel(dist, "dup", "1.0")
    sdist = build_sdist(dist, "dup", "1.0")
    _upload_signed(server, actors, "alice", token, [wheel, sdist], tmp_path / "home")
    before = state_counts(server)

    # A re-run release job: the same bytes again are a no-op success.
    _upload_signed(server, actors, "alice", token, [wheel], tmp_path / "home")
    assert state_counts(server) == before

    changed_dir = tmp_path / "changed"
    changed_dir.mkdir()
    changed = build_wheel(changed_dir, "dup", "1.0", marker="other bytes")
    assert changed.name == wheel.name
    with httpx.Client(base_url=server.url, auth=("__token__", token)) as http:
        response = _post(http, changed, {"name": "dup", "version": "1.0"},
                         signature=_sign(actors, "alice", changed))
        assert response.status_code == 409
        assert response.json()["code"] == "file_exists"
        assert response.json()["detail"].startswith("File already exists")
        other_sdist = build_sdist(changed_dir, "dup", "1.0", filename_name="Dup")
        renamed = other_sdist.with_name("DUP-1.0.tar.gz")
        other_sdist.rename(renamed)
        response = _post(http, renamed, {"name": "dup", "version": "1.0"},
                         signature=_sign(actors, "alice", renamed), filetype="sdist")
        assert response.status_code == 400
        assert response.json()["detail"] == "Only one sdist may be uploaded per release."
    result = twine_upload(server.url, token, [changed, _sign(actors, "alice", changed)],
                          tmp_path / "home")
    assert result.returncode != 0
    assert "409" in result.stdout + result.stderr
    assert state_counts(server) == before


def test_yank_unpublish_and_quarantine_as_pip_sees_them(
        server: RunningServer, actors: Actors, tmp_path: Path) -> None:
    token = actors.user("alice")
    security = actors.user("sec", security=True)
    dist = tmp_path / "dist"
    dist.mkdir()
    v1 = build_wheel(dist, "life", "1.0")
    v2 = build_wheel(dist, "life", "1.1")
    v3 = build_wheel(dist, "life", "1.2")
    _upload_signed(server, actors, "alice", token, [v1, v2, v3], tmp_path / "home")
    home = tmp_path / "home"
    auth = {"Authorization": f"Bearer {token}"}

    with httpx.Client(base_url=server.url, headers=auth) as http:
        # Yank 1.2 (deprecate): pip skips it for a range, still installs it when pinned.
        response = http.put("/api/v1/pypi/life/1.2/deprecation", json={"message": "broken"})
        assert response.status_code == 204, response.text
        doc = http.get("/simple/life/", headers={"Accept": JSON}).json()
        assert next(f for f in doc["files"] if f["filename"] == v3.name)["yanked"] == "broken"
        anchor = next(line for line in http.get("/simple/life/").text.splitlines()
                      if f">{v3.name}</a>" in line)
        assert 'data-yanked="broken"' in anchor
    result = pip(["download", "life", "-d", str(tmp_path / "a")], server.url, home)
    assert result.returncode == 0, result.stderr
    assert [p.name for p in (tmp_path / "a").iterdir()] == [v2.name]
    result = pip(["download", "life==1.2", "-d", str(tmp_path / "b")], server.url, home)
    assert result.returncode == 0, result.stderr
    assert "yanked" in result.stderr.lower() and "broken" in result.stderr

    with httpx.Client(base_url=server.url, headers=auth) as http:
        # Unpublish 1.1 within the grace period: gone from the index, its file 410.
        assert http.delete("/api/v1/pypi/life/1.1").status_code == 204
        assert http.get(f"/pypi/files/life/1.1/{v2.name}").status_code == 410
        assert http.get("/simple/life/", headers={"Accept": JSON}).json()["versions"] == \
            ["1.0", "1.2"]
    result = pip(["download", "life", "-d", str(tmp_path / "c")], server.url, home)
    assert [p.name for p in (tmp_path / "c").iterdir()] == [v1.name]
    # The number is burned: a new upload of 1.1 is refused.
    again_dir = tmp_path / "again"
    again_dir.mkdir()
    again = build_wheel(again_dir, "life", "1.1", marker="again")
    with httpx.Client(base_url=server.url, auth=("__token__", token)) as http:
        response = _post(http, again, {"name": "life", "version": "1.1"},
                         signature=_sign(actors, "alice", again))
        assert (response.status_code, response.json()["code"]) == (409, "version_burned")

    # Quarantine through a malicious PyPI advisory: pip finds nothing to install.
    with httpx.Client(base_url=server.url,
                      headers={"Authorization": f"Bearer {security}"}) as http:
        advisory = {"summary": "malicious life", "details": "bad",
                    "database_specific": {"malicious": True},
                    "affected": [{"package": {"ecosystem": "PyPI", "name": "Life"},
                                  "ranges": [{"type": "ECOSYSTEM",
                                              "events": [{"introduced": "0"}]}]}]}
        created = http.post("/api/v1/advisories", json=advisory)
        assert created.status_code in (200, 201), created.text
        advisory_id = created.json()["id"]
        assert http.post(f"/api/v1/advisories/{advisory_id}/publish").status_code == 200
        response = http.post(f"/api/v1/advisories/{advisory_id}/quarantine", json={})
        assert response.status_code == 200, response.text
        doc = http.get("/simple/life/", headers={"Accept": JSON}).json()
        assert doc["files"] == []
        assert http.get(f"/pypi/files/life/1.0/{v1.name}").status_code == 403
    result = pip(["download", "life", "-d", str(tmp_path / "d")], server.url, home)
    assert result.returncode != 0
    assert not (tmp_path / "d").exists() or not list((tmp_path / "d").iterdir())
    with session_scope(server.registry.engine) as session:
        actions = session.exec(select(AuditEvent.action).where(AuditEvent.package == "life")
                               .order_by(AuditEvent.id)).all()
    assert "version:unpublish" in actions and "version:deprecate" in actions


def _post(http: httpx.Client, path: Path, fields: dict[str, str], *,
          signature: Path | None = None, sha256: str | None = None,
          filetype: str = "bdist_wheel") -> httpx.Response:
    data = {":action": "file_upload", "protocol_version": "1", "filetype": filetype,
            "sha256_digest": sha256 or _sha256(path), **fields}
    files: dict[str, tuple[str, bytes, str]] = {
        "content": (path.name, path.read_bytes(), "application/octet-stream")}
    if signature is not None:
        files["gpg_signature"] = (signature.name, signature.read_bytes(),
                                  "application/octet-stream")
    return http.post("/legacy/", data=data, files=files)



WORKFLOW = GitHubIdentity(repository="acme/attested", workflow="release.yml",
                          ref="refs/tags/v1.0")


def _attest(server: RunningServer, actors: Actors, token: str, project: str,
            sigstore_instance: SigstoreInstance, dist: Path) -> Path:
    """Make acme/attested's workflow a trusted publisher of ``project`` (through the API, as
    its owner-to-be) and write ``<dist>.publish.attestation`` as the publishing tools do."""
    response = actors.client(token).post("/api/v1/trusted-publishers", json={
        "target": project, "repository": WORKFLOW.repository, "workflow": WORKFLOW.workflow})
    assert response.status_code in (201, 409), response.text
    attestation = make_attestation(sigstore_instance, dist.read_bytes(), dist.name, WORKFLOW)
    path = dist.with_name(dist.name + ".publish.attestation")
    path.write_text(json.dumps(attestation))
    return path


def test_twine_uploads_attestations_and_the_index_links_their_provenance(
        server: RunningServer, actors: Actors, sigstore_instance: SigstoreInstance,
        tmp_path: Path) -> None:
    token = actors.user("alice")
    dist = tmp_path / "dist"
    dist.mkdir()
    wheel = build_wheel(dist, "attested", "1.0")
    attestation = _attest(server, actors, token, "attested", sigstore_instance, wheel)
    result = twine_upload(server.url, token, [wheel, attestation], tmp_path / "home",
                          "--attestations")
    assert result.returncode == 0, result.stdout + result.stderr
    with httpx.Client(base_url=server.url) as http:
        doc = http.get("/simple/attested/", headers={"Accept": JSON}).json()
        url = doc["files"][0]["provenance"]
        assert url == f"/integrity/attested/1.0/{wheel.name}/provenance"
        assert f'data-provenance="{url}"' in http.get("/simple/attested/").text
        provenance = http.get(url)
        assert provenance.status_code == 200
        assert provenance.headers["content-type"] == "application/vnd.pypi.integrity.v1+json"
        bundle = provenance.json()["attestation_bundles"][0]
        assert bundle["publisher"]["repository"] == "acme/attested"
        assert bundle["attestations"][0]["envelope"]["signature"]
    with session_scope(server.registry.engine) as session:
        assert session.exec(select(Provenance.method)).all() == ["sigstore"]


def test_uv_publish(server: RunningServer, actors: Actors,
                    sigstore_instance: SigstoreInstance, tmp_path: Path) -> None:
    """uv sends no .asc: under the default policy an upload without attestations is refused
    (uv shows the registry's detail) and leaves nothing; with attestations it is accepted,
    and a re-run of the same upload succeeds without change."""
    token = actors.user("alice")
    dist = tmp_path / "dist"
    dist.mkdir()
    wheel = build_wheel(dist, "uv-made", "1.0")
    sdist = build_sdist(dist, "uv-made", "1.0")
    before = state_counts(server)
    command = ["publish", "--publish-url", f"{server.url}/legacy/", "--username", "__token__",
               "--password", token, "--trusted-publishing", "never"]
    refused = uv([*command, str(wheel)], tmp_path / "home")
    assert refused.returncode != 0
    assert "requires a signature" in refused.stdout + refused.stderr  # the detail
    assert state_counts(server) == before

    # As `uv publish dist/*` with the attestations in dist/: uv pairs them with their files.
    inputs = [str(p) for path in (wheel, sdist)
              for p in (path, _attest(server, actors, token, "uv-made", sigstore_instance, path))]
    published = uv([*command, *inputs], tmp_path / "home")
    assert published.returncode == 0, published.stdout + published.stderr
    again = uv([*command, *inputs], tmp_path / "home")
    assert again.returncode == 0, again.stdout + again.stderr
    with session_scope(server.registry.engine) as session:
        files = session.exec(select(PackageFile.filename).order_by(PackageFile.filename)).all()
        methods = session.exec(select(Provenance.method)).all()
    assert files == [wheel.name, sdist.name]
    assert methods == ["sigstore", "sigstore"]


def test_files_of_one_release_join_it_by_pep440_equality(
        server: RunningServer, actors: Actors, tmp_path: Path) -> None:
    token = actors.user("alice")
    dist = tmp_path / "dist"
    dist.mkdir()
    sdist = build_sdist(dist, "same", "1.0")
    wheel = build_wheel(dist, "same", "1.0.0")
    _upload_signed(server, actors, "alice", token, [sdist, wheel], tmp_path / "home")
    with httpx.Client(base_url=server.url) as http:
        doc = http.get("/simple/same/", headers={"Accept": JSON}).json()
    # One release, named as its first file named it (twine sends wheels first).
    assert doc["versions"] == ["1.0.0"]
    assert sorted(f["url"] for f in doc["files"]) == [
        f"/pypi/files/same/1.0.0/{wheel.name}", f"/pypi/files/same/1.0.0/{sdist.name}"]
    with session_scope(server.registry.engine) as session:
        assert session.exec(select(PackageVersion.version)).all() == ["1.0.0"]
    # The lifecycle finds the release by PEP 440 equality too.
    with httpx.Client(base_url=server.url,
                      headers={"Authorization": f"Bearer {token}"}) as http:
        assert http.put("/api/v1/pypi/Same/1.0/deprecation",
                        json={"message": "old"}).status_code == 204
        assert http.put("/api/v1/pypi/same/9.9/deprecation",
                        json={"message": "old"}).status_code == 404
        doc = http.get("/simple/same/", headers={"Accept": JSON}).json()
    assert {f["yanked"] for f in doc["files"]} == {"old"}


def test_cached_project_pages_follow_writes_of_any_replica(
        server: RunningServer, actors: Actors, tmp_path: Path) -> None:
    """Pages are served from memory, but a change committed straight to the database (as
    another replica would) shows on the next request; ETag revalidation answers 304."""
    token = actors.user("alice")
    dist = tmp_path / "dist"
    dist.mkdir()
    wheel = build_wheel(dist, "cached", "1.0")
    _upload_signed(server, actors, "alice", token, [wheel], tmp_path / "home")
    with httpx.Client(base_url=server.url, headers={"Accept": JSON}) as http:
        first = http.get("/simple/cached/")
        assert first.json()["files"][0]["yanked"] is False
        assert http.get("/simple/cached/").content == first.content
        again = http.get("/simple/cached/", headers={"If-None-Match": first.headers["etag"]})
        assert again.status_code == 304
        head = http.head("/simple/cached/")
        assert (head.status_code, head.content) == (200, b"")
        assert head.headers["content-type"] == JSON
        with session_scope(server.registry.engine, write=True) as session:
            row = session.exec(select(PackageVersion)).one()
            row.deprecated = "pulled by another replica"
            session.add(row)
        doc = http.get("/simple/cached/").json()
        assert doc["files"][0]["yanked"] == "pulled by another replica"
        with session_scope(server.registry.engine, write=True) as session:
            package = session.exec(select(Package)).one()
            package.status = "quarantined"
            session.add(package)
        doc = http.get("/simple/cached/").json()
        assert doc["files"] == [] and doc["project-status"]["status"] == "quarantined"
        assert http.get("/simple/no-such-project/").status_code == 404
        assert http.get("/simple/Cached/", follow_redirects=False).status_code == 301
