"""read generations: a change counter per package, bumped by the database itself (issue 13)

Every process keeps public metadata documents in memory (``app/publishing/read_cache.py``).
Issue 13's rule is that nothing is answered from a cache that a write has made stale, on any
replica. So each package has a row in ``read_generations`` whose ``generation`` goes up in the
same transaction as every change to the rows its documents are built from; a cached document
is served only while the generation it was rendered under is still the current one (one
indexed read per request, see ``app/publishing/generations.py``).

The bumps are triggers, not application code, so no write path can forget one and an
operator's hand-written SQL invalidates too:

- ``packages`` (insert, update, delete): the package's own row (old and new name);
- ``package_versions`` (insert, delete, and any update that changes more than the download
  count), ``package_files`` and ``provenance`` (insert, update, delete): the owning package;
- ``advisories`` and ``advisory_packages`` (insert, update, delete): the registry-wide row
  ``*`` (an advisory can change the version documents of any package; advisory writes are rare).

On PostgreSQL the triggers are deferred constraint triggers: they run at commit, so the
generation rows are the last rows a transaction locks, held only while it commits, and never
taken before another row some other writer holds (no new deadlocks: an unpublish locks its
version row, a publish its blob row, first). SQLite has one writer at a time.

An update of ``package_versions.downloads`` alone does not fire the trigger: the download
counter bumps the packages it wrote itself, as its last statement (a flush touches thousands
of versions every few seconds; one bump per package is enough). A future migration that
adds a column to ``package_versions`` must add it to ``_VERSION_COLUMNS`` of a new trigger
(SQLite compares columns one by one; PostgreSQL compares the whole row minus ``downloads``).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# package_versions columns a document shows or a download decides on (all but downloads).
_VERSION_COLUMNS = ("package_id", "version", "sort_key", "description", "license", "keywords",
                    "repository", "dependencies", "dev_dependencies", "published_at",
                    "published_by_id", "published_by", "deprecated", "unpublished_at",
                    "quarantined_at", "quarantine_reason")

# (table, SQL naming the package of row R (R = NEW or OLD), or None for the registry-wide row)
_SOURCES: tuple[tuple[str, str | None], ...] = (
    ("packages", "SELECT name FROM packages WHERE id = R.id"),
    ("package_versions", "SELECT name FROM packages WHERE id = R.package_id"),
    ("package_files", "SELECT name FROM packages WHERE id = "
                      "(SELECT package_id FROM package_versions WHERE id = R.version_id)"),
    ("provenance", "SELECT name FROM packages WHERE id = (SELECT package_id FROM "
                   "package_versions WHERE id = (SELECT version_id FROM package_files "
                   "WHERE id = R.file_id))"),
    ("advisories", None),
    ("advisory_packages", None),
)

_UPSERT = ("ON CONFLICT (name) DO UPDATE SET generation = read_generations.generation + 1")


def upgrade() -> None:
    op.create_table(
        "read_generations",
        sa.Column("name", sa.String(length=214), primary_key=True),
        sa.Column("generation", sa.BigInteger(), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()


def _sqlite_bump(table: str, source: str | None, row: str) -> str:
    # Every piece is a constant of this module: nothing here comes from input.
    if table == "packages":  # the row itself names the package
        return (f"INSERT INTO read_generations (name, generation) SELECT {row}.name, 1 "
                f"WHERE {row}.name IS NOT NULL {_UPSERT};")
    if source is None:
        return f"INSERT INTO read_generations (name, generation) VALUES ('*', 1) {_UPSERT};"  # noqa: S608
    name = source.replace("R.", f"{row}.")
    return (f"INSERT INTO read_generations (name, generation) SELECT ({name}), 1 "
            f"WHERE ({name}) IS NOT NULL {_UPSERT};")


def _sqlite_triggers() -> None:
    for table, source in _SOURCES:
        for event, rows in (("INSERT", ("NEW",)), ("DELETE", ("OLD",)),
                            ("UPDATE", ("OLD", "NEW"))):
            when = ""
            if table == "package_versions" and event == "UPDATE":
                when = " WHEN " + " OR ".join(f"NEW.{c} IS NOT OLD.{c}"
                                              for c in _VERSION_COLUMNS)
            body = " ".join(_sqlite_bump(table, source, row) for row in rows)
            op.execute(f"CREATE TRIGGER rg_{table}_{event.lower()} AFTER {event} ON {table} "
                       f"FOR EACH ROW{when} BEGIN {body} END")


def _postgresql_triggers() -> None:
    op.execute(f"""
        CREATE FUNCTION vouch_bump_read_generation(pkg text) RETURNS void LANGUAGE sql AS $$
            INSERT INTO read_generations (name, generation) SELECT pkg, 1
            WHERE pkg IS NOT NULL {_UPSERT}
        $$""")
    for table, source in _SOURCES:
        if table == "packages":
            old, new = "OLD.name", "NEW.name"
        elif source is None:
            old = new = "'*'"
        else:
            old, new = (f"({source.replace('R.', f'{row}.')})" for row in ("OLD", "NEW"))
        op.execute(f"""
            CREATE FUNCTION vouch_rg_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP <> 'INSERT' THEN PERFORM vouch_bump_read_generation({old}); END IF;
                IF TG_OP <> 'DELETE' THEN PERFORM vouch_bump_read_generation({new}); END IF;
                RETURN NULL;
            END $$""")
        # Deferred: the bump runs at commit, after every other statement of the transaction,
        # so the generation row is the last lock a writer takes (no lock-order cycle with the
        # version, blob or package rows that other writers take first).
        when = ("WHEN ((to_jsonb(NEW) - 'downloads') IS DISTINCT FROM "
                "(to_jsonb(OLD) - 'downloads')) ") if table == "package_versions" else ""
        events = ("INSERT OR DELETE", "UPDATE") if when else ("INSERT OR UPDATE OR DELETE",)
        for number, event in enumerate(events):
            op.execute(f"CREATE CONSTRAINT TRIGGER rg_{table}_{number} AFTER {event} ON {table} "
                       "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                       f"{when if event == 'UPDATE' else ''}"
                       f"EXECUTE FUNCTION vouch_rg_{table}()")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, _ in _SOURCES:
            op.execute(f"DROP FUNCTION vouch_rg_{table}() CASCADE")
        op.execute("DROP FUNCTION vouch_bump_read_generation(text)")
    else:
        for table, _ in _SOURCES:
            for event in ("insert", "delete", "update"):
                op.execute(f"DROP TRIGGER rg_{table}_{event}")
    op.drop_table("read_generations")
