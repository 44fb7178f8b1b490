"""VOUCH_BLOB_STORE and the S3 settings are checked at start-up (issue 16): a combination
that cannot work is refused before anything runs, never found out at the first download."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core.config import Settings
from app.storage import FilesystemBlobStore
from app.storage.backends import open_blob_store
from app.storage.s3 import S3BlobStore


def test_the_default_is_the_filesystem_and_proxy_downloads(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.blob_store == "filesystem" and settings.download_mode == "proxy"
    store = open_blob_store(settings)
    assert isinstance(store, FilesystemBlobStore) and store.root == tmp_path / "blobs"


def test_s3_is_built_from_its_settings_without_connecting(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, blob_store="s3", s3_bucket="artifacts",
                        s3_prefix="/vouch/blobs/", s3_endpoint_url="http://127.0.0.1:1",
                        s3_region="eu-west-1", download_mode="redirect",
                        s3_presign_expiry="2m")  # type: ignore[arg-type]
    store = open_blob_store(settings)  # nothing listens on port 1: no request is made here
    assert isinstance(store, S3BlobStore)
    assert (store.bucket, store.prefix) == ("artifacts", "vouch/blobs/")
    assert settings.s3_presign_expiry.total_seconds() == 120


@pytest.mark.parametrize(("values", "message"), [
    ({"blob_store": "s3"}, "needs VOUCH_S3_BUCKET"),
    ({"download_mode": "redirect"}, "needs VOUCH_BLOB_STORE=s3"),
    ({"blob_store": "s3", "s3_bucket": "b", "accel_redirect_prefix": "/_blobs"},
     "VOUCH_ACCEL_REDIRECT_PREFIX"),
    ({"blob_store": "s3", "s3_bucket": "b", "s3_presign_expiry": "8d"}, "between 1s and 7d"),
    ({"blob_store": "s3", "s3_bucket": "b", "s3_part_size": 1024}, "greater than or equal"),
    ({"blob_store": "gcs"}, "filesystem"),
])
def test_impossible_combinations_are_refused(tmp_path: Path, values: dict[str, object],
                                             message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(data_dir=tmp_path, **values)  # type: ignore[arg-type]
    assert message in str(refused.value)


def test_credentials_are_not_settings() -> None:
    """Only the SDK's chain holds them: no field of Settings can."""
    assert not [name for name in Settings.model_fields
                if any(word in name for word in ("secret", "access_key", "password"))]
