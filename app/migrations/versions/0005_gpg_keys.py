"""GPG keys: one active account per fingerprint, revoked fingerprints never return (issue 9)

``gpg_key_challenges`` holds the nonces users sign to prove they hold a key (SHA-256 only,
bound to a user, single use). ``gpg_fingerprints`` has one row per fingerprint ever
registered (primary keys and signing subkeys), pointing at the key row that claimed it: the
primary key makes a second claim impossible, and a claim by a revoked key stays for ever.

Existing keys are backfilled by their primary fingerprint (their subkeys are not known
without running gpg, so they are not reserved). A fingerprint registered by several accounts
before this revision (nobody proved possession then) stays with the earliest registration;
the later copies are revoked.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gpg_key_challenges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    with op.batch_alter_table("gpg_key_challenges") as batch:
        batch.create_index("ix_gpg_key_challenges_user_id", ["user_id"], unique=False)
        batch.create_index("ix_gpg_key_challenges_expires_at", ["expires_at"], unique=False)

    op.create_table(
        "gpg_fingerprints",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("gpg_key_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["gpg_key_id"], ["gpg_keys.id"]),
        sa.PrimaryKeyConstraint("fingerprint"),
    )
    with op.batch_alter_table("gpg_fingerprints") as batch:
        batch.create_index("ix_gpg_fingerprints_gpg_key_id", ["gpg_key_id"], unique=False)
    _backfill()


def _backfill() -> None:
    conn = op.get_bind()
    keys = sa.table("gpg_keys", sa.column("id", sa.Integer()),
                    sa.column("fingerprint", sa.String()),
                    sa.column("revoked_at", sa.DateTime(timezone=True)))
    claims = sa.table("gpg_fingerprints", sa.column("fingerprint", sa.String()),
                      sa.column("gpg_key_id", sa.Integer()))
    now = datetime.now(UTC)
    seen: set[str] = set()
    rows = conn.execute(sa.select(keys.c.id, keys.c.fingerprint, keys.c.revoked_at)
                        .order_by(keys.c.id)).all()
    for key_id, fingerprint, revoked_at in rows:
        fpr = fingerprint.upper()
        if fpr not in seen:
            seen.add(fpr)
            conn.execute(claims.insert().values(fingerprint=fpr, gpg_key_id=key_id))
        elif revoked_at is None:
            conn.execute(keys.update().where(keys.c.id == key_id).values(revoked_at=now))


def downgrade() -> None:
    with op.batch_alter_table("gpg_fingerprints") as batch:
        batch.drop_index("ix_gpg_fingerprints_gpg_key_id")
    op.drop_table("gpg_fingerprints")
    with op.batch_alter_table("gpg_key_challenges") as batch:
        batch.drop_index("ix_gpg_key_challenges_expires_at")
        batch.drop_index("ix_gpg_key_challenges_user_id")
    op.drop_table("gpg_key_challenges")
