"""npm dist-tags: the tags an owner set with ``npm dist-tag add`` (issue 15)

One row per (package, tag) naming a version row. ``latest`` is stored only when an owner set
it; otherwise it is computed (the highest live release). A tag whose version is unpublished
or quarantined is kept but not offered (``app.npm.tags``).

Tags are shown by packuments, which the packument cache serves while the package's read
generation is unchanged (migration 0011), so every insert, update and delete here raises the
package's generation in the same transaction, by trigger (deferred on PostgreSQL, as 0011's).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_UPSERT = "ON CONFLICT (name) DO UPDATE SET generation = read_generations.generation + 1"
_PACKAGE = "(SELECT name FROM packages WHERE id = {row}.package_id)"


def upgrade() -> None:
    op.create_table(
        "npm_dist_tags",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("package_id", sa.Integer(), sa.ForeignKey("packages.id"), nullable=False),
        sa.Column("tag", sa.String(length=128), nullable=False),
        sa.Column("version_id", sa.Integer(), sa.ForeignKey("package_versions.id"),
                  nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("package_id", "tag", name="uq_npm_dist_tag"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION vouch_rg_npm_dist_tags() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP <> 'INSERT' THEN
                    PERFORM vouch_bump_read_generation({_PACKAGE.format(row="OLD")});
                END IF;
                IF TG_OP <> 'DELETE' THEN
                    PERFORM vouch_bump_read_generation({_PACKAGE.format(row="NEW")});
                END IF;
                RETURN NULL;
            END $$""")
        op.execute("CREATE CONSTRAINT TRIGGER rg_npm_dist_tags_0 AFTER INSERT OR UPDATE OR "
                   "DELETE ON npm_dist_tags DEFERRABLE INITIALLY DEFERRED FOR EACH ROW "
                   "EXECUTE FUNCTION vouch_rg_npm_dist_tags()")
        return
    for event, rows in (("INSERT", ("NEW",)), ("DELETE", ("OLD",)), ("UPDATE", ("OLD", "NEW"))):
        body = " ".join(
            f"INSERT INTO read_generations (name, generation) SELECT {_PACKAGE.format(row=r)}, "
            f"1 WHERE {_PACKAGE.format(row=r)} IS NOT NULL {_UPSERT};" for r in rows)
        op.execute(f"CREATE TRIGGER rg_npm_dist_tags_{event.lower()} AFTER {event} ON "
                   f"npm_dist_tags FOR EACH ROW BEGIN {body} END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION vouch_rg_npm_dist_tags() CASCADE")
    else:
        for event in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER rg_npm_dist_tags_{event}")
    op.drop_table("npm_dist_tags")
