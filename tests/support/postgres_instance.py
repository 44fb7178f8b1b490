"""A private PostgreSQL server that a test may stop and start (never the shared one on 5432).

    with PostgresInstance.create() as pg:        # initdb on a temporary directory, free port
        engine = make_engine(pg.url)
        pg.stop()                                # pg_ctl stop -m immediate: a crash
        pg.start()                               # crash recovery, same port and data

The binaries come from ``pg_config --bindir`` or ``/usr/lib/postgresql/<n>/bin`` (highest
version). ``initdb`` and ``postgres`` refuse to run as root: as root, the server runs as the
``postgres`` user through ``runuser``, and the data directory (under the system temporary
directory, not pytest's root-only one) is handed to that user. There is no silent skip: a
machine without PostgreSQL makes ``create`` raise ``PostgresUnavailable`` with what to install.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

SERVER_USER = "postgres"
DATABASE = "vouch"


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's server binaries, or a user to run them as, are missing."""


def find_bindir() -> Path:
    """The directory holding initdb, pg_ctl and postgres; raises `PostgresUnavailable`."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                             check=False).stdout.strip()
        if out:
            candidates.append(Path(out))
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                      key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
                      reverse=True)
    candidates.extend(versions)
    for directory in candidates:
        if (directory / "initdb").is_file() and (directory / "pg_ctl").is_file():
            return directory
    raise PostgresUnavailable(
        "the outage tests run their own PostgreSQL server and need its binaries (initdb, "
        "pg_ctl, postgres): install the server package (e.g. apt-get install postgresql-15); "
        f"looked in {', '.join(str(c) for c in candidates) or '/usr/lib/postgresql/*/bin'}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PostgresInstance:
    bindir: Path
    root: Path
    port: int

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        """The application's URL for the test database (trust authentication)."""
        return f"postgresql://{SERVER_USER}@127.0.0.1:{self.port}/{DATABASE}"

    @classmethod
    @contextmanager
    def create(cls) -> Iterator[PostgresInstance]:
        """initdb + start + create the ``vouch`` database; stopped and removed afterwards."""
        bindir = find_bindir()
        # /tmp, not $TMPDIR: the server user must be able to reach the directory (and the
        # socket path must stay short).
        root = Path(tempfile.mkdtemp(prefix="vouch-pg-", dir="/tmp"))
        instance = cls(bindir=bindir, root=root, port=free_port())
        try:
            instance._initdb()
            instance.start()
            with psycopg.connect(f"host=127.0.0.1 port={instance.port} user={SERVER_USER} "
                                 "dbname=postgres", autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{DATABASE}"')
            yield instance
        finally:
            instance.stop(check=False)
            shutil.rmtree(root, ignore_errors=True)

    def _as_server_user(self, *args: str) -> list[str]:
        if os.geteuid() != 0:
            return list(args)
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError as err:
            raise PostgresUnavailable(
                f"running as root, PostgreSQL needs an unprivileged '{SERVER_USER}' user to "
                "run as (the postgresql package creates it)") from err
        runuser = shutil.which("runuser")
        if runuser is None:
            raise PostgresUnavailable("running as root, runuser is needed to start PostgreSQL")
        return [runuser, "-u", SERVER_USER, "--", *args]

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(self._as_server_user(*args), capture_output=True, text=True,
                                check=False, timeout=120)
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed ({result.returncode}):\n"
                               f"{result.stdout}\n{result.stderr}")
        return result

    def _initdb(self) -> None:
        if os.geteuid() == 0:
            server = pwd.getpwnam(SERVER_USER)
            os.chown(self.root, server.pw_uid, server.pw_gid)
        self.root.chmod(0o700)
        self._run(str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", SERVER_USER,
                  "--auth=trust", "--encoding=UTF8", "--no-sync")

    def start(self) -> None:
        """Start (or restart after `stop`) on the same port; waits until it accepts queries."""
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c max_connections=100")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-l",
                  str(self.root / "server.log"), "-o", options, "-w", "-t", "60", "start")

    def stop(self, *, check: bool = True) -> None:
        """``pg_ctl stop -m immediate``: the server dies without a shutdown checkpoint and
        clients see their connections drop, as in a crash."""
        if not (self.datadir / "postmaster.pid").exists() and not check:
            return
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate",
                  "-w", "stop", check=check)
