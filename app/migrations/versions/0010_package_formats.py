"""package formats (issue 14): per-file fields a Python index needs

``packages.ecosystem`` already tells formats apart (``generic``, ``pypi``) and
``uq_package_name`` keeps names unique per (ecosystem, normalised name). A Python release holds
several files (wheels and one sdist); each file row now says what it is and what the Simple API
advertises about it: ``filetype`` (``bdist_wheel`` / ``sdist``; NULL for native artifacts),
``requires_python``, the upload time (``uploaded_at``: files of one release arrive at different
times), and the core metadata (the wheel's ``METADATA`` / the sdist's ``PKG-INFO`` bytes,
served at ``<file URL>.metadata``, PEP 658) with its sha256. The metadata bytes live in the row:
they are small, immutable with the file, and need no blob lifecycle of their own.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("package_files") as batch:
        batch.add_column(sa.Column("filetype", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("requires_python", sa.String(length=256), nullable=True))
        batch.add_column(sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("core_metadata_sha256", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("core_metadata", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("package_files") as batch:
        batch.drop_column("core_metadata")
        batch.drop_column("core_metadata_sha256")
        batch.drop_column("uploaded_at")
        batch.drop_column("requires_python")
        batch.drop_column("filetype")
