"""A clean database per test, on SQLite or PostgreSQL (``VOUCH_TEST_DB``).

Migrations run once per worker into a template (a SQLite file, or a PostgreSQL template
database); each test gets a copy: a file copy, or ``CREATE DATABASE ... TEMPLATE``. The
PostgreSQL server is ``VOUCH_TEST_POSTGRES_URL`` (default postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from app.core.db import make_engine, upgrade

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def backend() -> str:
    return os.environ.get("VOUCH_TEST_DB", "sqlite")


def postgres_admin_url() -> str:
    url = os.environ.get("VOUCH_TEST_POSTGRES_URL", DEFAULT_PG)
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@contextmanager
def empty_postgres_database(prefix: str = "vouch_empty") -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database (no migrations) on the test server,
    dropped afterwards: for tests of the engine itself or of migrations."""
    admin = create_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_admin_url().rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class DatabaseFactory:
    """Makes fresh, migrated databases quickly."""

    def __init__(self, workdir: Path, worker: str) -> None:
        self.kind = backend()
        self.workdir = workdir
        self.worker = worker.replace("-", "_")
        if self.kind == "postgres":
            self.template = f"vouch_tpl_{self.worker}_{uuid.uuid4().hex[:6]}"
            self._admin = create_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT")
            with self._admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.template}"'))
            engine = make_engine(self._url(self.template))
            upgrade(engine)
            engine.dispose()
        else:
            self.template_file = workdir / "template.db"
            engine = make_engine(f"sqlite:///{self.template_file}")
            upgrade(engine)
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            engine.dispose()

    def _url(self, name: str) -> str:
        return postgres_admin_url().rsplit("/", 1)[0] + f"/{name}"

    @contextmanager
    def fresh(self, directory: Path) -> Iterator[str]:
        """Yield the URL of a new migrated database; it is dropped afterwards."""
        if self.kind == "postgres":
            name = f"vouch_t_{uuid.uuid4().hex[:12]}"
            with self._admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
            try:
                yield self._url(name)
            finally:
                with self._admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        else:
            directory.mkdir(parents=True, exist_ok=True)
            target = directory / "vouch.db"
            shutil.copyfile(self.template_file, target)
            yield f"sqlite:///{target}"

    def close(self) -> None:
        if self.kind == "postgres":
            with self._admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)'))
            self._admin.dispose()
