"""upstream proxy (issue 17): cached upstream pages and files, reserved names

``proxy_pages`` holds the last project page (or packument) each upstream answered for a name,
with when it was fetched (served for the upstream's ``metadata_ttl``, stale while the upstream
is down). ``proxy_files`` records every artifact fetched from an upstream: its digest (the blob
in the store, written once), size and downloads; ``(ecosystem, name, filename)`` is unique, so a
filename is cached once and never swapped; ``digest_alert_at`` marks a cached file whose digest
the upstream later changed. ``name_reservations``: names and ``@scopes`` an organisation
reserved, with their PEP 503 (``pypi_key``) and lowercase (``npm_key``) forms, which never
resolve upstream.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "proxy_pages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("upstream", sa.String(length=64), nullable=False),
        sa.Column("ecosystem", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=214), nullable=False),
        sa.Column("found", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("upstream", "ecosystem", "name", name="uq_proxy_page"),
    )
    op.create_table(
        "proxy_files",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("upstream", sa.String(length=64), nullable=False),
        sa.Column("ecosystem", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=214), nullable=False),
        sa.Column("version", sa.String(length=256), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False, index=True),
        sa.Column("sha512", sa.String(length=128), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("signed", sa.Boolean(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("downloads", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("digest_alert_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("ecosystem", "name", "filename", name="uq_proxy_file"),
    )
    op.create_table(
        "name_reservations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("org_id", sa.Integer(), sa.ForeignKey("orgs.id"), nullable=False,
                  index=True),
        sa.Column("name", sa.String(length=214), nullable=False),
        sa.Column("pypi_key", sa.String(length=214), nullable=True, unique=True),
        sa.Column("npm_key", sa.String(length=214), nullable=False, unique=True),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("name_reservations")
    op.drop_table("proxy_files")
    op.drop_table("proxy_pages")
