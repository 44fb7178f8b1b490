"""trusted publishers may name a personal Sigstore identity (issue 12)

``provider = 'identity'`` rows trust one Fulcio identity (``identity``, e.g. an e-mail address
from a browser login) issued by one OIDC ``issuer``; ``repository``/``workflow`` are empty for
them. Signature policies may be set on a name before its first version (``pending_policies``).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("trusted_publishers") as batch:
        batch.add_column(sa.Column("identity", sa.String(length=256), nullable=True))
        batch.add_column(sa.Column("issuer", sa.String(length=256), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("trusted_publishers") as batch:
        batch.drop_column("issuer")
        batch.drop_column("identity")
