"""trusted publishers remember the GitHub repository owner's numeric id

A repository can be deleted and its name re-registered by another account; the numeric
``repository_owner_id`` claim tells them apart. It is bound on the first successful token
exchange (or given at registration) and must match on every later one.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("trusted_publishers") as batch:
        batch.add_column(sa.Column("repository_owner_id", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("trusted_publishers") as batch:
        batch.drop_column("repository_owner_id")
