"""What the proxy's API answers."""

from __future__ import annotations

from pydantic import BaseModel


class UpstreamStatus(BaseModel):
    name: str
    format: str
    url: str
    metadata_ttl: float
    timeout: float
    unsigned: str
    enabled: bool  # every format is proxied now: always True (kept for older clients)
    hits: int
    misses: int
    errors: int
    stale: int
    cached_files: int
    cache_bytes: int
    cached_pages: int
    downloads: int
    digest_alerts: int


class ProxyStatus(BaseModel):
    upstreams: list[UpstreamStatus]


class PurgeRequest(BaseModel):
    upstream: str | None = None
    name: str | None = None


class Purged(BaseModel):
    purged: int


class ReservationRequest(BaseModel):
    name: str


class ReservationPublic(BaseModel):
    org: str
    name: str
