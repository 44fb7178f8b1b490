"""npm packages Vouch does not host, from the ``npm`` upstream (Verdaccio, npmjs, another
registry speaking npm's protocol).

    proxy = NpmProxy(registry, upstream, stats)
    doc, stale = proxy.packument("left-pad", abbreviated=False, base_url=".../npm/")
    cached = proxy.tarball("left-pad", "left-pad-1.3.0.tgz")

Packuments: the upstream's full packument (``GET {url}{name}``, scoped names as
``@scope%2fname``) is cached in ``proxy_pages`` for ``metadata_ttl`` and served stale when the
upstream fails, as for Python. Vouch answers with its own document (``formats.npm.packument``,
full or abbreviated by ``Accept``): only versions with a sha512 ``dist.integrity``, tarball URLs
at Vouch, no upstream ``signatures``/``attestations`` (they are the upstream's, not Vouch's), no
version a published malicious advisory names, ``dist-tags`` only pointing at offered versions.
A cached tarball is offered with the integrity of the cached bytes; when the upstream now says
otherwise the audit log gets ``proxy:digest-changed`` once, never a swap.

Tarballs: fetched once, the sha512 compared (constant time) with ``dist.integrity`` before
anything is stored, then kept write-once and served from Vouch.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any
from urllib.parse import urljoin

from app.core.db import session_scope
from app.core.errors import NotFound, PackageNotFound
from app.proxy.base import CachedFile, UpstreamProxy
from app.proxy.errors import UpstreamDigestMismatch, UpstreamUnsigned
from app.proxy.guard import is_local
from app.proxy.models import ProxyFile
from app.proxy.npm_provenance import NpmUpstreamProvenance
from formats.errors import FormatError
from formats.npm import names
from formats.npm.packument import VersionEntry, abbreviated_packument, full_packument

log = logging.getLogger("vouch.proxy")
_DROPPED_DIST = ("signatures", "attestations", "tarball", "npm-signature")


class NpmProxy(UpstreamProxy):
    ECOSYSTEM = "npm"
    OSV_ECOSYSTEM = "npm"

    # packuments --------------------------------------------------------------------------
    def packument(self, name: str, *, abbreviated: bool,
                  base_url: str) -> tuple[dict[str, Any], bool]:
        """Vouch's document for ``name`` and whether it is stale; raises ``PackageNotFound``
        for a local name or one the upstream does not have."""
        upstream_doc, fetched_at, stale = self._remote(name)
        versions = _obj(upstream_doc.get("versions"))
        times = _obj(upstream_doc.get("time"))
        with session_scope(self.registry.engine) as session:
            cached = self.cached_files(session, name)
        self.alert_digest_changed(name, [
            change for version, manifest in versions.items()
            if (change := _changed(name, version, manifest, cached)) is not None])
        malicious = self.malicious_versions(name, set(versions))
        entries = []
        for version, manifest in versions.items():
            if not isinstance(manifest, dict) or version in malicious:
                continue
            try:
                filename = names.tarball_filename(name, version)
            except FormatError:
                continue
            row = cached.get(filename)
            dist = _obj(manifest.get("dist"))
            if self.upstream.unsigned == "refuse" and not (
                    row.signed if row else _attestations_url(dist)):
                continue  # only versions with (verified) provenance under "refuse"
            upstream_hex = _sha512_hex(dist.get("integrity"))
            sha512 = row.sha512 if row else upstream_hex
            if sha512 is None:
                continue  # nothing to verify the bytes against: never offered
            clean = {k: v for k, v in manifest.items()
                     if not k.startswith("_") or k == "_hasShrinkwrap"}
            clean["dist"] = {k: v for k, v in dist.items() if k not in _DROPPED_DIST}
            clean["dist"]["integrity"] = "sha512-" + base64.b64encode(
                bytes.fromhex(sha512)).decode()
            if sha512 != upstream_hex:
                clean["dist"].pop("shasum", None)
            deprecated = manifest.get("deprecated")
            entries.append(VersionEntry(
                clean, f"{base_url}{name}/-/{filename}",
                _time(times.get(version)) or fetched_at,
                deprecated if isinstance(deprecated, str) and deprecated else None))
        offered = {entry.version for entry in entries}
        tags = {tag: v for tag, v in _obj(upstream_doc.get("dist-tags")).items()
                if isinstance(v, str) and v in offered}
        if abbreviated:
            return abbreviated_packument(name, entries, tags, modified=fetched_at), stale
        created = _time(times.get("created")) or fetched_at
        rev = "1-" + hashlib.sha256(json.dumps(sorted(offered)).encode()).hexdigest()[:32]
        return full_packument(name, entries, tags, created=created, modified=fetched_at,
                              rev=rev), stale

    def _remote(self, name: str) -> tuple[dict[str, Any], datetime, bool]:
        now = self.registry.clock.now()
        with session_scope(self.registry.engine) as session:
            if is_local(session, self.ECOSYSTEM, name):
                raise PackageNotFound(name)
            page = self.cached_page(session, name)
        if page is not None and now - _aware(page.fetched_at) < \
                timedelta(seconds=self.upstream.metadata_ttl):
            self.stats.add(self.upstream.name, "hits")
            return _document(page.found, page.body, name), _aware(page.fetched_at), False
        try:
            answer = self.http.get(self.upstream.url + name.replace("/", "%2f"),
                                   accept="application/json")
        except Exception:
            self.stats.add(self.upstream.name, "errors")
            if page is None:
                raise
            self.stats.add(self.upstream.name, "stale")
            log.warning("upstream %s is failing: serving its packument of %s fetched at %s "
                        "(stale)", self.upstream.name, name, page.fetched_at)
            return _document(page.found, page.body, name), _aware(page.fetched_at), True
        self.stats.add(self.upstream.name, "misses")
        if answer.status == 404:
            self.store_page(name, False, "{}")
            raise PackageNotFound(name)
        doc = self.usable_document(answer, name, "packument")
        kept: dict[str, Any] = {k: doc[k] for k in ("name", "dist-tags", "versions", "time")
                                if k in doc}
        self.store_page(name, True, json.dumps(kept))
        return kept, now, False

    # tarballs ----------------------------------------------------------------------------
    def tarball(self, name: str, filename: str) -> CachedFile:
        """The cached tarball (fetched and verified now if needed); raises
        ``PackageNotFound``, ``NotFound``, ``VersionQuarantined``, ``UpstreamUnsigned``,
        ``UpstreamDigestMismatch`` or an upstream error."""
        try:
            version = names.version_of_tarball(name, filename)
            filename = names.tarball_filename(name, version)
        except FormatError as err:
            raise NotFound(f"{filename[:128]!r} is not a tarball of {name}") from err
        hit = self.cache_hit(name, version,
                             lambda session: self.cached_file(session, name, filename),
                             lambda: self._unsigned(name, version))
        if hit is not None:
            return hit
        doc, _, _ = self._remote(name)
        versions = _obj(doc.get("versions"))
        manifest = versions.get(version)
        if not isinstance(manifest, dict):
            raise NotFound(f"{name}@{version} is not a version the upstream has",
                           package=name, version=version)
        dist = _obj(manifest.get("dist"))
        expected = _sha512_hex(dist.get("integrity"))
        url = dist.get("tarball")
        if expected is None or not isinstance(url, str):
            raise UpstreamDigestMismatch(f"upstream {self.upstream.name!r} advertises no sha512 "
                                         f"integrity for {name}@{version}: it cannot be "
                                         "verified", package=name, version=version)
        attestations = _attestations_url(dist)
        if self.upstream.unsigned == "refuse" and attestations is None:
            raise self._unsigned(name, version)

        def attest(sha256: str, sha512: str) -> bool:
            signed = attestations is not None and self.provenance.verify(
                urljoin(self.upstream.url, attestations), name, version, manifest, sha256,
                sha512, self.registry.clock.now())
            if self.upstream.unsigned == "refuse" and not signed:
                raise self._unsigned(name, version)
            return signed

        return self.fetch_verified(name, version, filename, urljoin(self.upstream.url, url),
                                   lambda _, sha512: hmac.compare_digest(sha512, expected),
                                   attest=attest)

    @cached_property
    def provenance(self) -> NpmUpstreamProvenance:
        return NpmUpstreamProvenance(self.http, self.registry.settings.sigstore_trust)

    def _unsigned(self, name: str, version: str) -> UpstreamUnsigned:
        return UpstreamUnsigned(f"{name}@{version} from upstream {self.upstream.name!r} "
                                "carries no verified provenance, and this upstream's policy "
                                "refuses unsigned versions; nothing was stored",
                                package=name, version=version)


def _changed(name: str, version: str, manifest: object,
             cached: dict[str, ProxyFile]) -> tuple[ProxyFile, dict[str, str]] | None:
    """The cached tarball of ``version`` and both digests, when the upstream's integrity for
    it is no longer the cached bytes' (and no alert was recorded yet)."""
    try:
        row = cached.get(names.tarball_filename(name, version))
    except FormatError:
        return None
    if row is None or row.digest_alert_at is not None:
        return None
    upstream_hex = _sha512_hex(_obj(_obj(manifest).get("dist")).get("integrity"))
    if upstream_hex is None or hmac.compare_digest(upstream_hex, row.sha512):
        return None
    return row, {"cached_sha512": row.sha512, "upstream_sha512": upstream_hex}


def _attestations_url(dist: dict[str, Any]) -> str | None:
    """Where the upstream serves this version's attestations (``dist.attestations.url``)."""
    url = _obj(dist.get("attestations")).get("url")
    return url if isinstance(url, str) and url else None


def _obj(value: object) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (upstream documents are untrusted)."""
    return value if isinstance(value, dict) else {}


def _sha512_hex(integrity: object) -> str | None:
    """The sha512 of an SRI string (``sha512-<base64>``, possibly among others), as hex."""
    if not isinstance(integrity, str):
        return None
    for part in integrity.split():
        algorithm, _, value = part.partition("-")
        if algorithm == "sha512":
            try:
                raw = base64.b64decode(value.split("?")[0], validate=True)
            except (binascii.Error, ValueError):
                return None
            return raw.hex() if len(raw) == 64 else None
    return None


def _document(found: bool, body: str, name: str) -> dict[str, Any]:
    if not found:
        raise PackageNotFound(name)
    doc: dict[str, Any] = json.loads(body)
    return doc


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return _aware(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        return None


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)
