"""one sdist per Python release, decided by the database (issue 14)

A partial unique index on ``package_files(version_id) WHERE filetype = 'sdist'``: two sdists
of one release uploaded at the same instant under different filename spellings (``foo-1.0``
and ``Foo-1.0``) both passed the upload's read-then-insert check; now the second insert
conflicts and the upload is refused (400 ``sdist_exists``) with nothing stored. Native and npm
files (``filetype`` NULL or ``npm``) are not affected. Fails if a database already holds two
sdists of one release (remove one by hand first: the registry never promised both).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_WHERE = sa.text("filetype = 'sdist'")


def upgrade() -> None:
    op.create_index("uq_release_sdist", "package_files", ["version_id"], unique=True,
                    sqlite_where=_WHERE, postgresql_where=_WHERE)


def downgrade() -> None:
    op.drop_index("uq_release_sdist", table_name="package_files")
