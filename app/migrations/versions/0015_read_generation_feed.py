"""read generation feed: which generations changed since a snapshot, PostgreSQL (issue 13)

A process reading package generations (``app/publishing/generations.py``) asked PostgreSQL for
the generation of every name in a batch of requests, every batch: one index probe per name
per request, most of the backend's work behind a cached metadata read. With this column a
process asks instead what changed since its last query's snapshot, and keeps the generations
it has read:

- ``written`` (``xid8``) is the id of the transaction that last wrote the row, set by a
  ``BEFORE INSERT OR UPDATE`` trigger, so every writer sets it (the bump function of 0011,
  the download counter's bump, npm's tag triggers, an operator's hand-written SQL);
- a transaction whose rows a snapshot does not see has an id at or above the snapshot's
  ``xmax``, or is in its list of transactions in progress. So the rows with such a
  ``written`` (an index range and a list of probes) are every row a later snapshot may see
  differently; nothing committed is missed, whatever order the transactions commit in;
- rows are never removed: a removed row is a change the feed cannot report, so ``DELETE``
  and ``TRUNCATE`` on the table are refused.

SQLite needs none of it: its readers skip their query while ``PRAGMA data_version`` has not
moved, and re-read the names they are asked for when it has.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # Existing rows get this migration's transaction id: older than any later snapshot.
    op.execute("ALTER TABLE read_generations "
               "ADD COLUMN written xid8 NOT NULL DEFAULT pg_current_xact_id()")
    op.execute("CREATE INDEX ix_read_generations_written ON read_generations (written)")
    op.execute("""
        CREATE FUNCTION vouch_rg_written() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.written := pg_current_xact_id();
            RETURN NEW;
        END $$""")
    op.execute("CREATE TRIGGER rg_written BEFORE INSERT OR UPDATE ON read_generations "
               "FOR EACH ROW EXECUTE FUNCTION vouch_rg_written()")
    op.execute("""
        CREATE FUNCTION vouch_rg_kept() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'read_generations rows are never removed'
                USING HINT = 'readers learn of changes from the rows written since their '
                             'last snapshot; a removed row would be a change none of them sees';
        END $$""")
    op.execute("CREATE TRIGGER rg_kept BEFORE DELETE ON read_generations "
               "FOR EACH ROW EXECUTE FUNCTION vouch_rg_kept()")
    op.execute("CREATE TRIGGER rg_kept_truncate BEFORE TRUNCATE ON read_generations "
               "FOR EACH STATEMENT EXECUTE FUNCTION vouch_rg_kept()")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION vouch_rg_kept() CASCADE")
    op.execute("DROP FUNCTION vouch_rg_written() CASCADE")
    op.execute("ALTER TABLE read_generations DROP COLUMN written")  # and its index
