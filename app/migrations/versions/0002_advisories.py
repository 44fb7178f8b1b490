"""advisory index generation: a revision per advisory row and one generation counter

Every advisory write bumps ``advisory_generation.value`` (a row lock on PostgreSQL, the write
lock on SQLite, so revisions are handed out in commit order) and stamps the rows it wrote with
the new value in ``advisories.revision``. A process keeps its in-memory index current by
reading the counter and reloading only rows with a larger revision.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    generation = op.create_table(
        'advisory_generation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('value', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.bulk_insert(generation, [{'id': 1, 'value': 0}])
    with op.batch_alter_table('advisories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.BigInteger(), nullable=False,
                                      server_default='0'))
        batch_op.create_index('ix_advisories_revision', ['revision'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('advisories', schema=None) as batch_op:
        batch_op.drop_index('ix_advisories_revision')
        batch_op.drop_column('revision')
    op.drop_table('advisory_generation')
