"""Blobs as objects in an S3 bucket (AWS S3, MinIO, any S3-compatible service), write-once.

    store = S3BlobStore(bucket="vouch", prefix="blobs/", endpoint_url="http://minio:9000")
    store.put_file(digest, staged)          # conditional PutObject, If-None-Match: *
    url = store.presigned_url(digest, filename="x-1.0.0.tgz", expires_in=900)

Keys are the filesystem store's, under an optional prefix: ``{prefix}ab/cd/abcd...``.
Credentials come only from the SDK's standard chain (environment, shared profile, container
or instance role); nothing here reads, stores or logs them.

Write-once is enforced by the store itself, not only by this code:

- a blob up to ``multipart_threshold`` bytes is one ``PutObject`` with ``If-None-Match: *`` and
  ``x-amz-checksum-sha256`` set to the content address, so S3 refuses bytes that do not hash to
  their key (BadDigest) and never replaces an existing key (412 PreconditionFailed);
- a larger one is a multipart upload (``ChecksumAlgorithm=SHA256``; every part carries its own
  sha256, so the store rejects a corrupted part) completed with ``If-None-Match: *``; a failed
  upload is aborted at once, and ``abort_incomplete_uploads`` (``vouch admin sweep-blobs``)
  aborts those a crash left behind.

A 412 means the key exists. That is fine when the stored bytes are the same (two replicas
publishing the same artifact; content addressing makes "same key" mean "same bytes"), which
``put_file`` verifies by hashing the stored object and comparing in constant time; a stored
object that does not hash to its key raises ``BlobCorrupted`` (never silently accepted).
A 409 ConditionalRequestConflict (a concurrent conditional write on AWS) is retried.

Deletion happens only through the lifecycle (``set_aside`` + ``purge`` after an unpublish or
a failed publish, the orphan sweep): ``set_aside`` copies the object under ``{prefix}.aside/``
and deletes the original, ``restore`` puts it back with the same conditional write.

Errors: a missing key is ``BlobNotFound``; the endpoint down, timeouts, throttling, refused
credentials or a missing bucket are ``StorageUnavailable`` (503 ``storage_unavailable``), with
a one-line log that names the operation and the S3 error code, never a credential. S3
refusing bytes that do not match their checksum (BadDigest) is ``BlobCorrupted`` (a 500).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import logging
import re
import secrets
import shutil
import tempfile
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, NoReturn, cast

from app.storage.base import BlobNotFound, aside_digest, blob_key
from app.storage.errors import BlobCorrupted, StorageUnavailable
from app.storage.tempfiles import Removed

if TYPE_CHECKING:
    # boto3 (about 10 MiB) loads with the first S3BlobStore, never in a worker whose blobs
    # are on the filesystem (issue 13: idle memory).
    import boto3
    from botocore.config import Config

log = logging.getLogger("vouch.storage")

MIN_PART_SIZE = 5 * 1024 * 1024  # S3's minimum for every part but the last
_CHUNK = 1024 * 1024
_ATTEMPTS = 3


_INTEGRITY_CODES = frozenset({"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch"})


class _Missing(Exception):
    """The key (or upload) does not exist."""


class _Exists(Exception):
    """A conditional write found the key present (412)."""


class _Conflict(Exception):
    """A concurrent conditional write conflicted (409); the caller retries."""


def sha256_b64(hex_digest: str) -> str:
    """The base64 form S3's ``x-amz-checksum-sha256`` carries."""
    return base64.b64encode(bytes.fromhex(hex_digest)).decode()


_SESSION: list[boto3.session.Session] = []
_SESSION_LOCK = threading.Lock()


def _session() -> boto3.session.Session:
    """One SDK session per process: its service models load once (a client is then cheap).
    Credentials are still resolved by each client through the standard chain."""
    import boto3

    with _SESSION_LOCK:
        if not _SESSION:
            _SESSION.append(boto3.session.Session())
        return _SESSION[0]


def client_config(*, path_style: bool) -> Config:
    """Short connect timeout and few retries: an outage answers 503 within seconds."""
    from botocore.config import Config

    return Config(
        signature_version="s3v4",
        s3={"addressing_style": "path" if path_style else "auto"},
        retries={"max_attempts": _ATTEMPTS, "mode": "standard"},
        connect_timeout=3, read_timeout=30, max_pool_connections=32,
    )


class S3BlobStore:
    """A ``BlobStore`` on an S3 bucket."""

    def __init__(self, bucket: str, *, prefix: str = "", endpoint_url: str | None = None,
                 region: str | None = None, presign_endpoint_url: str | None = None,
                 multipart_threshold: int = 16 * 1024 * 1024,
                 part_size: int = 8 * 1024 * 1024) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"S3 parts are at least {MIN_PART_SIZE} bytes")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size
        session = _session()
        self.client: Any = session.client(
            "s3", endpoint_url=endpoint_url, region_name=region,
            config=client_config(path_style=endpoint_url is not None))
        # Presigned URLs name the address clients use (compose: MinIO published on the
        # host), which may differ from the one the app reaches the store at.
        self.presign_client: Any = self.client if presign_endpoint_url is None else \
            session.client("s3", endpoint_url=presign_endpoint_url, region_name=region,
                           config=client_config(path_style=True))
        self._key_pattern = re.compile(
            "^" + re.escape(self.prefix) + r"[0-9a-f]{2}/[0-9a-f]{2}/([0-9a-f]{64})$")

    # -- keys -------------------------------------------------------------------------------
    def _key(self, sha256: str) -> str:
        return self.prefix + blob_key(sha256)  # blob_key validates: no path tricks

    def _aside_key(self, handle: str) -> str:
        aside_digest(handle)  # validates
        return f"{self.prefix}.aside/{handle}"

    # -- the one place S3 errors are classified ----------------------------------------------
    def _call(self, operation: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError  # loaded by __init__

        try:
            return getattr(self.client, operation)(Bucket=self.bucket, **kwargs)
        except ClientError as err:
            error = err.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            if code in ("NoSuchKey", "NotFound", "NoSuchUpload") or (
                    status == 404 and code != "NoSuchBucket"):
                raise _Missing(code) from err
            if code == "PreconditionFailed" or status == 412:
                raise _Exists(code) from err
            if code == "ConditionalRequestConflict" or (status == 409 and "IfNoneMatch" in kwargs):
                raise _Conflict(code) from err
            if code in _INTEGRITY_CODES:  # the bytes sent do not match their checksum
                log.error("INTEGRITY: S3 refused %s of %s: %s", operation, kwargs.get("Key"),
                          code)
                raise BlobCorrupted(str(kwargs.get("Key", ""))) from err
            self._unavailable(operation, f"{status} {code}", err)
        except BotoCoreError as err:  # endpoint down, timeouts, no credentials
            self._unavailable(operation, type(err).__name__, err)

    def _unavailable(self, operation: str, reason: str, err: Exception) -> NoReturn:
        log.warning("S3 %s failed (%s): answering 503 storage_unavailable", operation, reason)
        raise StorageUnavailable(operation) from err

    # -- writes -----------------------------------------------------------------------------
    def put_file(self, sha256: str, source: Path) -> bool:
        key = self._key(sha256)
        size = source.stat().st_size
        for _ in range(_ATTEMPTS):
            try:
                if size <= self.multipart_threshold:
                    self._put_single(key, sha256, source, size)
                else:
                    self._put_multipart(key, source)
                return True
            except _Conflict:
                continue  # a concurrent conditional write: try again (then it exists)
            except _Exists:
                try:
                    self._check_stored(sha256)
                except BlobNotFound:
                    continue  # set aside between our write and our check: write again
                return False
        self._unavailable("put", "conditional write kept conflicting", RuntimeError(key))

    def _put_single(self, key: str, sha256: str, source: Path, size: int) -> None:
        with source.open("rb") as body:
            self._call("put_object", Key=key, Body=body, ContentLength=size,
                       ContentType="application/octet-stream", IfNoneMatch="*",
                       ChecksumAlgorithm="SHA256", ChecksumSHA256=sha256_b64(sha256))

    def _put_multipart(self, key: str, source: Path) -> None:
        upload = self._call("create_multipart_upload", Key=key, ChecksumAlgorithm="SHA256",
                            ContentType="application/octet-stream")["UploadId"]
        try:
            parts = []
            with source.open("rb") as body:
                for number in range(1, 10_001):
                    chunk = body.read(self.part_size)
                    if not chunk:
                        break
                    checksum = base64.b64encode(hashlib.sha256(chunk).digest()).decode()
                    answer = self._call("upload_part", Key=key, UploadId=upload,
                                        PartNumber=number, Body=chunk,
                                        ChecksumAlgorithm="SHA256", ChecksumSHA256=checksum)
                    parts.append({"PartNumber": number, "ETag": answer["ETag"],
                                  "ChecksumSHA256": checksum})
            self._call("complete_multipart_upload", Key=key, UploadId=upload,
                       MultipartUpload={"Parts": parts}, IfNoneMatch="*")
        except BaseException:
            self._abort(key, upload)
            raise

    def _abort(self, key: str, upload: str) -> None:
        """Abort a multipart upload; never raises (the sweep retries what this misses)."""
        try:
            self._call("abort_multipart_upload", Key=key, UploadId=upload)
        except _Missing:
            pass
        except Exception:
            log.warning("could not abort multipart upload of %s; the sweep will", key)

    def _check_stored(self, sha256: str) -> None:
        """The object under ``sha256``'s key hashes to ``sha256``; raises ``BlobCorrupted``
        (logged) otherwise, ``BlobNotFound`` if it is gone."""
        digest = hashlib.sha256()
        with self.open(sha256) as stream:
            for chunk in iter(lambda: stream.read(_CHUNK), b""):
                digest.update(chunk)
        if not hmac.compare_digest(digest.hexdigest(), sha256):
            log.error("INTEGRITY: the object stored for %s has sha256 %s", sha256,
                      digest.hexdigest())
            raise BlobCorrupted(sha256)

    # -- reads ------------------------------------------------------------------------------
    def open(self, sha256: str) -> BinaryIO:
        key = self._key(sha256)
        try:
            response = self._call("get_object", Key=key)
        except _Missing as err:
            raise BlobNotFound(sha256) from err
        return cast(BinaryIO, S3Reader(self, key, response))  # a seekable, read-only file

    def _head(self, sha256: str) -> Any:
        try:
            return self._call("head_object", Key=self._key(sha256))
        except _Missing as err:
            raise BlobNotFound(sha256) from err

    def exists(self, sha256: str) -> bool:
        try:
            self._head(sha256)
        except BlobNotFound:
            return False
        return True

    def size(self, sha256: str) -> int:
        return int(self._head(sha256)["ContentLength"])

    def modified_at(self, sha256: str) -> datetime:
        """When the object was stored (for the orphan sweep's age rule); ``BlobNotFound``."""
        stored: datetime = self._head(sha256)["LastModified"]
        return stored

    # -- lifecycle deletes ------------------------------------------------------------------
    def delete(self, sha256: str) -> None:
        self._call("delete_object", Key=self._key(sha256))

    def set_aside(self, sha256: str) -> str | None:
        handle = f"{sha256}.{secrets.token_hex(8)}"
        try:
            self._call("copy_object", Key=self._aside_key(handle),
                       CopySource={"Bucket": self.bucket, "Key": self._key(sha256)})
        except _Missing:
            return None
        self._call("delete_object", Key=self._key(sha256))
        return handle

    def purge(self, handle: str) -> None:
        self._call("delete_object", Key=self._aside_key(handle))

    def restore(self, handle: str) -> None:
        aside = self._aside_key(handle)
        digest = aside_digest(handle)
        try:
            response = self._call("get_object", Key=aside)
        except _Missing:
            return  # restored or purged already
        # Through a local copy and put_file: the same conditional write (a copy stored
        # meanwhile is kept) and the same digest check as any publish.
        with tempfile.TemporaryDirectory(prefix="vouch-restore-") as tmp:
            path = Path(tmp) / digest
            with path.open("wb") as out, S3Reader(self, aside, response) as stream:
                shutil.copyfileobj(stream, out, _CHUNK)
            self.put_file(digest, path)
        self._call("delete_object", Key=aside)

    def set_aside_handles(self) -> list[str]:
        start = f"{self.prefix}.aside/"
        names = (key[len(start):] for key in self._list(start))
        return sorted(name for name in names if _is_handle(name))

    # -- listings ---------------------------------------------------------------------------
    def _list(self, prefix: str) -> Iterator[str]:
        token: str | None = None
        while True:
            extra = {"ContinuationToken": token} if token else {}
            page = self._call("list_objects_v2", Prefix=prefix, **extra)
            for item in page.get("Contents", []):
                yield str(item["Key"])
            if not page.get("IsTruncated"):
                return
            token = page["NextContinuationToken"]

    def keys(self) -> list[str]:
        found = (self._key_pattern.match(key) for key in self._list(self.prefix))
        return sorted(match.group(1) for match in found if match)

    def local_path(self, sha256: str) -> Path | None:
        return None

    def abort_incomplete_uploads(self, older_than: datetime) -> Removed:
        """Abort the multipart uploads under this store's prefix started before
        ``older_than`` (a process that died mid-upload); their parts' bytes are freed.
        Younger uploads may belong to a live publish and are left alone."""
        removed = Removed()
        marker: dict[str, str] = {}
        while True:
            page = self._call("list_multipart_uploads", Prefix=self.prefix, **marker)
            for upload in page.get("Uploads", []):
                if upload["Initiated"] >= older_than:
                    continue
                key, upload_id = str(upload["Key"]), str(upload["UploadId"])
                try:
                    parts = self._call("list_parts", Key=key, UploadId=upload_id)
                    self._call("abort_multipart_upload", Key=key, UploadId=upload_id)
                except _Missing:
                    continue  # completed or aborted meanwhile
                size = sum(int(part["Size"]) for part in parts.get("Parts", []))
                log.info("aborted an incomplete multipart upload of %s (%d bytes)", key, size)
                removed += Removed(1, size)
            if not page.get("IsTruncated"):
                return removed
            marker = {"KeyMarker": page["NextKeyMarker"],
                      "UploadIdMarker": page["NextUploadIdMarker"]}

    # -- downloads --------------------------------------------------------------------------
    def presigned_url(self, sha256: str, *, filename: str, expires_in: int) -> str:
        """A GET URL for the blob valid ``expires_in`` seconds (signed locally: no request
        to the store). The response names ``filename`` as an attachment."""
        url: str = self.presign_client.generate_presigned_url(
            "get_object", ExpiresIn=expires_in, HttpMethod="GET",
            Params={"Bucket": self.bucket, "Key": self._key(sha256),
                    "ResponseContentDisposition": f'attachment; filename="{filename}"',
                    "ResponseContentType": "application/octet-stream"})
        return url


_HANDLE = re.compile(r"^[0-9a-f]{64}\.[0-9a-f]{16}$")


def _is_handle(name: str) -> bool:
    return bool(_HANDLE.match(name))


class S3Reader(io.RawIOBase):
    """A stored object as a read-only, seekable file.

    The object's GET is made when the store opens it (so a missing key is ``BlobNotFound``
    before any response header goes out) and streamed from there; seeking elsewhere makes a
    ranged GET of the same object version (``If-Match`` on its ETag). ``fileno`` raises
    ``io.UnsupportedOperation``: the bytes are not a local file."""

    def __init__(self, store: S3BlobStore, key: str, response: dict[str, Any]) -> None:
        super().__init__()
        self._store = store
        self._key = key
        self._body: Any = response["Body"]
        self.size = int(response["ContentLength"])
        self.last_modified: datetime = response["LastModified"]
        self.etag = str(response.get("ETag", ""))
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        data: bytes = self._body.read() if size is None or size < 0 else self._body.read(size)
        self._pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = {io.SEEK_SET: offset, io.SEEK_CUR: self._pos + offset,
                  io.SEEK_END: self.size + offset}[whence]
        if target < 0:
            raise ValueError("negative seek position")
        if target == self._pos:
            return target
        self._body.close()
        if target >= self.size:
            self._body = io.BytesIO(b"")
        else:
            try:
                response = self._store._call("get_object", Key=self._key,
                                             Range=f"bytes={target}-", IfMatch=self.etag)
            except (_Missing, _Exists) as err:  # purged, or another object meanwhile
                raise OSError(f"{self._key} changed or vanished while being read") from err
            self._body = response["Body"]
        self._pos = target
        return target

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()
