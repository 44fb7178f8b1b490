"""A real S3 API on loopback for the tests: moto's server mode (``moto[server]`` from PyPI).

    def test_x(moto_s3: MotoS3) -> None:
        bucket = moto_s3.new_bucket()                  # a fresh, empty bucket per test
        settings_overrides = moto_s3.overrides()       # VOUCH_BLOB_STORE=s3 on a new bucket

``moto_s3`` is session-scoped (one server per pytest-xdist worker, on a free port); a test
that stops and restarts its server (outages) takes ``MotoS3.start()`` of its own. moto keeps
everything in memory, so a restarted server is empty. Production uses AWS S3 or MinIO; moto
is what CI can run (README, "Artifacts in S3").

What moto 5.2.5 does and does not enforce (checked against its source and by
``tests/unit/app/test_s3_store.py``): ``If-None-Match: *`` on PutObject and
CompleteMultipartUpload is refused with 412 when the key exists; the minimum part size of a
multipart upload (5 MiB) is enforced; ``x-amz-checksum-sha256`` is stored but never verified;
presigned URLs are never checked for expiry or signature (tests check the URL's signed
expiry with ``tests.support.presign``).

Credentials: the standard chain, from the environment set here (moto accepts any); no
profile or instance metadata of the machine is consulted.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

REGION = "us-east-1"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "vouch-test-key",
    "AWS_SECRET_ACCESS_KEY": "vouch-test-secret",  # moto accepts anything
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/nonexistent/vouch-tests",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/vouch-tests",
}


_SESSION = boto3.session.Session()  # loads the service models once


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class MotoS3:
    """One moto server process on 127.0.0.1:``port``."""

    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @classmethod
    def start(cls, log_dir: Path, port: int | None = None) -> MotoS3:
        log_dir.mkdir(parents=True, exist_ok=True)
        server = cls(port=port or free_port(), log_path=log_dir / "moto.log")
        server.restart()
        return server

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def restart(self) -> None:
        """Start the server (again, on the same port); returns once it answers."""
        assert self.process is None, "already running"
        binary = Path(sys.executable).parent / "moto_server"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(binary), "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **CREDENTIALS})
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{self.url}/moto-api/", timeout=1)
                return
            except httpx.TransportError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto did not start; see {self.log_path}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server: the endpoint refuses connections until ``restart``."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def client(self) -> Any:
        return _SESSION.client(
            "s3", endpoint_url=self.url, region_name=REGION,
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])

    def new_bucket(self, name: str | None = None) -> str:
        bucket = name or f"vouch-{uuid.uuid4().hex[:20]}"
        self.client().create_bucket(Bucket=bucket)
        return bucket

    def overrides(self, bucket: str | None = None, **extra: object) -> dict[str, object]:
        """Settings for a registry on a new bucket of this server (or ``bucket``)."""
        return {"blob_store": "s3", "s3_bucket": bucket or self.new_bucket(),
                "s3_endpoint_url": self.url, "s3_region": REGION, **extra}


@pytest.fixture(scope="session")
def aws_environment() -> Iterator[None]:
    """Test credentials in the environment for the session (the SDK's standard chain)."""
    saved = {name: os.environ.get(name) for name in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="session")
def moto_s3(aws_environment: None,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoS3]:
    server = MotoS3.start(tmp_path_factory.mktemp("moto"))
    try:
        yield server
    finally:
        server.stop()
