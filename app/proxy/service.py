"""The proxies of one app, built once from ``VOUCH_UPSTREAMS``.

    proxies = Proxies.of(app)          # app.state.proxies, built on first use
    proxies.pypi                       # PypiProxy, or None without a pypi upstream
    proxies.npm                        # NpmProxy, or None without an npm upstream
    proxies.vouch                      # VouchProxy (native format), or None
    proxies.status()                   # list[UpstreamStatus] for `vouch proxy status`
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from app.core.db import session_scope
from app.proxy.config import load_upstreams
from app.proxy.models import ProxyFile, ProxyPage
from app.proxy.npm import NpmProxy
from app.proxy.pypi import PypiProxy
from app.proxy.schemas import UpstreamStatus
from app.proxy.stats import ProxyStats
from app.proxy.vouch import VouchProxy
from app.registry import Registry
from formats.upstreams import Upstream


class Proxies:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.stats = ProxyStats()
        self.upstreams: tuple[Upstream, ...] = load_upstreams(registry.settings.upstreams)
        by_format = {u.format: u for u in self.upstreams}
        self.pypi = (PypiProxy(registry, by_format["pypi"], self.stats)
                     if "pypi" in by_format else None)
        self.npm = (NpmProxy(registry, by_format["npm"], self.stats)
                    if "npm" in by_format else None)
        self.vouch = (VouchProxy(registry, by_format["vouch"], self.stats)
                      if "vouch" in by_format else None)

    @classmethod
    def of(cls, app: Any) -> Proxies:
        proxies: Proxies | None = getattr(app.state, "proxies", None)
        if proxies is None:
            proxies = app.state.proxies = cls(app.state.registry)
        return proxies

    def status(self) -> list[UpstreamStatus]:
        answers = []
        with session_scope(self.registry.engine) as session:
            for upstream in self.upstreams:
                files, size, downloads = session.exec(
                    select(func.count(col(ProxyFile.id)),
                           func.coalesce(func.sum(ProxyFile.size), 0),
                           func.coalesce(func.sum(ProxyFile.downloads), 0))
                    .where(ProxyFile.upstream == upstream.name)).one()
                pages = session.exec(select(func.count(col(ProxyPage.id))).where(
                    ProxyPage.upstream == upstream.name)).one()
                alerts = session.exec(select(func.count(col(ProxyFile.id))).where(
                    ProxyFile.upstream == upstream.name,
                    col(ProxyFile.digest_alert_at).is_not(None))).one()
                answers.append(UpstreamStatus(
                    name=upstream.name, format=upstream.format, url=upstream.url,
                    metadata_ttl=upstream.metadata_ttl, timeout=upstream.timeout,
                    unsigned=upstream.unsigned, enabled=True,
                    cached_files=int(files), cache_bytes=int(size), cached_pages=int(pages),
                    downloads=int(downloads), digest_alerts=int(alerts),
                    **self.stats.of(upstream.name)))
        return answers

    def purge(self, upstream: str | None, name: str | None) -> int:
        """Drop cached metadata (files stay: they are immutable)."""
        purged = 0
        for proxy in (self.pypi, self.npm, self.vouch):
            if proxy is not None and upstream in (None, proxy.upstream.name):
                purged += proxy.purge(name)
        return purged
