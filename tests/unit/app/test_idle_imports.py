"""Issue 13 (idle memory): a worker imports what it needs, not every optional backend; what
it loaded is frozen out of the garbage collector's way.

`import app.main`, and a worker's whole start-up (settings, migrations, ``Registry.build``,
``create_app``) with the default settings (filesystem blobs, Rekor off, no upstream), must not
load boto3 (S3 only), sigstore-python and pypi_attestations (the first Sigstore bundle or PEP
740 attestation loads them), TUF, requests or httpx (the first upstream or JWKS fetch):
together about 35 MiB per worker. `vouch serve`'s master process only supervises: it must not
load the application, the database layer, cryptography or the settings (their pydantic); it
names the workers' protocol by its import path.

Each check runs in a fresh interpreter: this test process has imported everything already.
The control test configures S3 and sees boto3 arrive, so the check can fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

#: Loaded only when a request (or a setting) needs them.
OPTIONAL = ("boto3", "botocore", "sigstore", "pypi_attestations", "tuf", "requests", "httpx")

#: What a worker loads, never the master.
APPLICATION = ("app.main", "fastapi", "sqlalchemy", "sqlmodel", "cryptography")
#: The settings (and their pydantic) the master of `vouch serve` has no use for.
MASTER_NEVER = ("app.core.config", "pydantic", "pydantic_settings",
                "app.core.protocol_answers")

_REPORT = "import json, sys; print(json.dumps(sorted(sys.modules)))"


def printed_by(code: str, tmp_path: Path, **env: str) -> str:
    """The last line a fresh interpreter prints running ``code`` in the repository, with only
    ``env`` among the VOUCH_* variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VOUCH_")}
    clean.update(VOUCH_DATA_DIR=str(tmp_path / "data"), VOUCH_ENVIRONMENT="development",
                 PYTHONPATH=str(ROOT), **env)
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[-1]


def loaded_after(code: str, tmp_path: Path, **env: str) -> set[str]:
    """The modules a fresh interpreter holds after running ``code``."""
    return set(json.loads(printed_by(f"{code}\n{_REPORT}", tmp_path, **env)))


def packages(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if any(m == n or m.startswith(n + ".") for m in modules))


def test_importing_the_application_loads_no_optional_backend(tmp_path: Path) -> None:
    modules = loaded_after("import app.main", tmp_path)
    assert "app.main" in modules
    assert packages(modules, OPTIONAL) == []


def test_a_started_worker_loads_no_optional_backend(tmp_path: Path) -> None:
    # What `vouch serve` runs in each worker (after the master migrated), here with the
    # migrations too: settings, Registry.build, create_app.
    modules = loaded_after("from app.asgi import build; build()", tmp_path)
    assert {"app.main", "app.registry", "signing.trust"} <= modules
    assert packages(modules, OPTIONAL) == []


def test_configuring_s3_loads_boto3(tmp_path: Path) -> None:
    # The control: the same check sees boto3 once S3 is configured (no request is made).
    modules = loaded_after(
        "from app.core.config import Settings\n"
        "from app.storage.backends import open_blob_store\n"
        "open_blob_store(Settings())", tmp_path,
        VOUCH_BLOB_STORE="s3", VOUCH_S3_BUCKET="artifacts",
        VOUCH_S3_ENDPOINT_URL="http://127.0.0.1:1", VOUCH_S3_REGION="eu-west-1")
    assert packages(modules, ("boto3", "botocore")) == ["boto3", "botocore"]


def test_the_master_loads_neither_the_application_nor_the_settings(tmp_path: Path) -> None:
    # app.asgi.serve's imports, and the uvicorn configuration it then runs (uvicorn.run
    # builds this Config and binds the socket in the master; workers load it).
    modules = loaded_after(
        "import uvicorn\n"
        "from app.asgi import WORKER_PROTOCOL, serve\n"
        "uvicorn.Config('app.asgi:build_migrated', factory=True, workers=2, "
        "http=WORKER_PROTOCOL)", tmp_path)
    assert "uvicorn" in modules
    assert packages(modules, APPLICATION + OPTIONAL + MASTER_NEVER) == []


def test_a_worker_resolves_the_protocol_the_master_names(tmp_path: Path) -> None:
    # What the master named is what a worker's uvicorn loads: the answering protocol with
    # the deadlines of the worker's settings (here a 7 s header deadline from its env).
    printed = printed_by(
        "import asyncio, uvicorn\n"
        "from uvicorn.server import ServerState\n"
        "from app.asgi import WORKER_PROTOCOL\n"
        "config = uvicorn.Config('app.asgi:build', factory=True, http=WORKER_PROTOCOL)\n"
        "config.load()\n"
        "protocol = config.http_protocol_class(config=config, server_state=ServerState(), "
        "app_state={}, _loop=asyncio.new_event_loop())\n"
        "print(type(protocol).__name__, protocol.header_timeout)", tmp_path,
        VOUCH_REQUEST_HEADER_TIMEOUT="7")
    assert printed == "AnsweringProtocol 7.0"


def test_a_started_worker_hides_what_it_loaded_from_the_garbage_collector(
        tmp_path: Path) -> None:
    # The objects a worker holds from start-up are frozen (gc.freeze), so the collector's
    # oldest generation does not walk them under load; what a request allocates is still
    # collected.
    frozen, enabled, oldest = printed_by(
        "import gc\nfrom app.asgi import build\nbuild()\n"
        "print(gc.get_freeze_count(), gc.isenabled(), len(gc.get_objects(2)))",
        tmp_path).split()
    assert int(frozen) > 100_000 and enabled == "True"
    assert int(oldest) < int(frozen) / 100


def test_the_download_counter_and_the_read_paths_load_no_http_server(tmp_path: Path) -> None:
    # The outbox worker and the CLI import the counter (and through it the generations); the
    # protocol's answer types must not bring uvicorn's HTTP machinery with them.
    modules = loaded_after("import app.publishing.downloads, app.publishing.read_cache, "
                           "app.publishing.fast_downloads, app.pypi.fast_pages", tmp_path)
    assert "app.publishing.generations" in modules
    assert packages(modules, ("uvicorn", "httptools")) == []
