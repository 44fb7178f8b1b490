"""pending trusted publishers: expiry and claim rules (issue 9)

A trusted publisher registered for a package name that does not exist yet is *pending* until
its package is created: ``pending_expires_at`` is set while it is pending (30 days after
registration) and cleared when its registrant's package comes into existence. Existing
publishers whose package does not exist get 30 days from their registration, like new ones.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from datetime import UTC, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

PENDING_LIFETIME = timedelta(days=30)


def upgrade() -> None:
    with op.batch_alter_table("trusted_publishers") as batch:
        batch.add_column(sa.Column("pending_expires_at", sa.DateTime(timezone=True),
                                   nullable=True))
        batch.create_index("ix_trusted_publishers_pending_expires_at",
                           ["pending_expires_at"], unique=False)
    publishers = sa.table("trusted_publishers", sa.column("id", sa.Integer),
                          sa.column("package_name", sa.String),
                          sa.column("created_at", sa.DateTime(timezone=True)),
                          sa.column("pending_expires_at", sa.DateTime(timezone=True)))
    packages = sa.table("packages", sa.column("name", sa.String))
    connection = op.get_bind()
    pending = connection.execute(
        sa.select(publishers.c.id, publishers.c.created_at)
        .where(publishers.c.package_name.is_not(None),
               ~sa.exists().where(packages.c.name == publishers.c.package_name))).all()
    for row_id, created_at in pending:
        created = created_at if created_at.tzinfo else created_at.replace(tzinfo=UTC)
        connection.execute(publishers.update().where(publishers.c.id == row_id)
                           .values(pending_expires_at=created + PENDING_LIFETIME))


def downgrade() -> None:
    with op.batch_alter_table("trusted_publishers") as batch:
        batch.drop_index("ix_trusted_publishers_pending_expires_at")
        batch.drop_column("pending_expires_at")
