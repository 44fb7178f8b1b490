"""The proxy's tables (migration 0012): cached upstream pages, cached upstream files, reserved
names. Table models never go on the wire (``app.proxy.schemas`` does)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def _ts(nullable: bool = False) -> Any:
    return Field(default=None if nullable else ...,
                 sa_column=Column(DateTime(timezone=True), nullable=nullable))


class ProxyPage(SQLModel, table=True):
    """The last project page an upstream answered for a name (``found`` False: its 404)."""

    __tablename__ = "proxy_pages"
    __table_args__ = (UniqueConstraint("upstream", "ecosystem", "name", name="uq_proxy_page"),)

    id: int | None = Field(default=None, primary_key=True)
    upstream: str = Field(max_length=64)
    ecosystem: str = Field(max_length=16)
    name: str = Field(max_length=214)
    found: bool
    body: str = Field(sa_column=Column(Text, nullable=False))
    fetched_at: datetime = _ts()


class ProxyFile(SQLModel, table=True):
    """An artifact fetched from an upstream, verified, and stored write-once."""

    __tablename__ = "proxy_files"
    __table_args__ = (UniqueConstraint("ecosystem", "name", "filename", name="uq_proxy_file"),)

    id: int | None = Field(default=None, primary_key=True)
    upstream: str = Field(max_length=64)
    ecosystem: str = Field(max_length=16)
    name: str = Field(max_length=214)
    version: str = Field(max_length=256)
    filename: str = Field(max_length=255)
    sha256: str = Field(max_length=64, index=True)
    sha512: str = Field(max_length=128)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    url: str = Field(sa_column=Column(Text, nullable=False))
    signed: bool
    fetched_at: datetime = _ts()
    downloads: int = Field(default=0, sa_column=Column(BigInteger, nullable=False,
                                                       server_default="0"))
    digest_alert_at: datetime | None = _ts(nullable=True)


class NameReservation(SQLModel, table=True):
    """A name or ``@scope`` an organisation reserved: it never resolves upstream."""

    __tablename__ = "name_reservations"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="orgs.id", index=True)
    name: str = Field(max_length=214)
    pypi_key: str | None = Field(default=None, max_length=214, unique=True)
    npm_key: str = Field(max_length=214, unique=True)
    created_by: str = Field(max_length=128)
    created_at: datetime = _ts()
