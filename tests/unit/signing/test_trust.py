"""Trust roots: pinned copies, custom files, and refresh through TUF."""

from __future__ import annotations

import json

import pytest

from signing.errors import TrustRefreshFailed, TrustRootInvalid
from signing.trust import TrustRoot, refresh_via_tuf

from .conftest import DATA
from .tuf_repo import URL, InMemoryRepo, RepoFetcher


def test_public_good_is_pinned_in_the_package():
    root = TrustRoot.public_good()
    assert root.name == "public-good"
    urls = [k.base_url for k in root.tlog_keys()]
    assert "https://rekor.sigstore.dev" in urls
    assert json.loads(root.raw_json)["mediaType"].startswith(
        "application/vnd.dev.sigstore.trustedroot+json")


def test_staging_differs_from_public_good():
    assert TrustRoot.staging().sha256 != TrustRoot.public_good().sha256
    assert any("sigstage" in k.base_url for k in TrustRoot.staging().tlog_keys())


def test_from_file(tmp_path):
    path = tmp_path / "trusted_root.json"
    path.write_bytes(TrustRoot.public_good().raw_json)
    assert TrustRoot.from_file(path).sha256 == TrustRoot.public_good().sha256


@pytest.mark.parametrize("content", [b"", b"{}", b"not json", b'{"mediaType": "x"}'])
def test_invalid_roots_are_refused(tmp_path, content):
    path = tmp_path / "trusted_root.json"
    path.write_bytes(content)
    with pytest.raises(TrustRootInvalid) as info:
        TrustRoot.from_file(path)
    assert info.value.code == "trust_root_invalid"


def test_real_invalid_roots_are_refused():
    for path in (DATA / "sigstore-python/trusted_root/trustedroot.badtype.json",
                 DATA / "conformance/trust-root-tlog-missing-validity-start_fail/"
                        "trusted_root.json"):
        with pytest.raises(TrustRootInvalid):
            TrustRoot.from_file(path)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(TrustRootInvalid, match="cannot read"):
        TrustRoot.from_file(tmp_path / "absent.json")


def test_refresh_via_tuf_writes_the_new_root(tmp_path):
    new_root = TrustRoot.staging().raw_json
    repo = InMemoryRepo(new_root)
    dest = tmp_path / "pinned" / "trusted_root.json"
    root = refresh_via_tuf(dest, repository_url=URL, bootstrap_root=repo.root_bytes,
                           fetcher=RepoFetcher(repo))
    assert dest.read_bytes() == new_root
    assert root.sha256 == TrustRoot.staging().sha256


def test_refresh_without_network_says_so_and_keeps_the_old_file(tmp_path):
    dest = tmp_path / "trusted_root.json"
    dest.write_bytes(b"old")
    with pytest.raises(TrustRefreshFailed, match="network unreachable") as info:
        refresh_via_tuf(dest, fetcher=RepoFetcher(None))
    assert info.value.code == "trust_refresh_failed"
    assert dest.read_bytes() == b"old"


def test_refresh_refuses_a_target_that_is_not_a_trusted_root(tmp_path):
    repo = InMemoryRepo(b'{"not": "a trusted root"}')
    dest = tmp_path / "trusted_root.json"
    with pytest.raises(TrustRefreshFailed, match="unusable"):
        refresh_via_tuf(dest, repository_url=URL, bootstrap_root=repo.root_bytes,
                        fetcher=RepoFetcher(repo))
    assert not dest.exists()


def test_refresh_of_unknown_repository_needs_a_bootstrap_root(tmp_path):
    with pytest.raises(TrustRefreshFailed, match="bootstrap"):
        refresh_via_tuf(tmp_path / "t.json", repository_url="https://tuf.private.example")


def test_refresh_refuses_metadata_signed_by_another_key(tmp_path):
    repo = InMemoryRepo(TrustRoot.staging().raw_json)
    other = InMemoryRepo(TrustRoot.staging().raw_json)
    with pytest.raises(TrustRefreshFailed):
        refresh_via_tuf(tmp_path / "t.json", repository_url=URL,
                        bootstrap_root=other.root_bytes, fetcher=RepoFetcher(repo))
