"""signature policies set on a name before its first version (issue 12)

A user allowed to create a name may set its signature policy first; the row is *pending* like a
pending trusted publisher: it applies to that user's own first publish, becomes the package's
policy if the package is created and owned by them, is dropped when anyone else creates the
name, and expires after 30 days.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_policies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("package_name", sa.String(length=214), nullable=False),
        sa.Column("policy", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("package_name", "created_by", name="uq_pending_policy_user"),
    )
    op.create_index("ix_pending_policies_package_name", "pending_policies", ["package_name"])
    op.create_index("ix_pending_policies_expires_at", "pending_policies", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_pending_policies_expires_at", table_name="pending_policies")
    op.drop_index("ix_pending_policies_package_name", table_name="pending_policies")
    op.drop_table("pending_policies")
