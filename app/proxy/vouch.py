"""Native packages Vouch does not host, from the ``vouch`` upstream (another Vouch).

    proxy = VouchProxy(registry, upstream, stats)
    doc, stale = proxy.package("left-pad")                 # PackagePublic
    doc, stale = proxy.version("left-pad", "1.0.0")        # VersionPublic
    cached = proxy.artifact("left-pad", "1.0.0")           # CachedFile

Documents: the upstream's ``GET /api/v1/packages/{name}`` and ``.../versions/{version}`` are
cached in ``proxy_pages`` for ``metadata_ttl`` (a version's document under ``name@version``)
and served stale, marked, when the upstream then fails; with nothing cached the failure is
502 ``upstream_unavailable`` / 504 ``upstream_timeout``. Vouch answers with its own documents:
the artifact URL is Vouch's, downloads are Vouch's, the upstream's ``signer`` is dropped (it
is the upstream's claim, not something this registry verified), and versions a published
malicious advisory (ecosystem ``Vouch``) names are marked quarantined with no artifact.

Artifacts: fetched once, hashed while streaming, the sha256 compared (constant time) with the
upstream's version document before anything is stored (502 ``upstream_digest_mismatch``, no
blob, no row); then write-once in the blob store and served from Vouch for ever, also when the
upstream is down or unpublishes it. Provenance: when the upstream's
``.../provenance`` is a Sigstore bundle, it is verified over the downloaded bytes before they
are stored (``signing.sigstore.verify_bundle`` against this registry's trust root, for the
identity and issuer the upstream recorded) and the artifact is recorded as signed. A GPG
signature is not (the key's owner is the upstream's record, which this registry cannot
check), so such artifacts and unsigned ones count as unsigned: ``unsigned = "warn"`` serves
them with a warning, ``unsigned = "refuse"`` refuses them (403 ``upstream_unsigned``, nothing
stored). A hosted or reserved name, or one in an organisation's ``@scope``, never reaches the
upstream (``app.proxy.guard``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlmodel import Session, col, select

from app.core.db import session_scope
from app.core.errors import DomainError, NotFound, PackageNotFound, VersionNotFound
from app.proxy.base import CachedFile, UpstreamProxy
from app.proxy.errors import UpstreamDigestMismatch, UpstreamUnavailable, UpstreamUnsigned
from app.proxy.guard import is_local
from app.proxy.models import ProxyFile, ProxyPage
from app.publishing.documents import ProvenanceNotFound, artifact_path
from app.publishing.names import parse_package_name
from app.publishing.schemas import (
    MetadataPackage,
    PackagePublic,
    ProvenancePublic,
    VersionPublic,
)
from signing.policy import GenericIdentity

if TYPE_CHECKING:
    # sigstore-python loads with the first provenance check (issue 13: idle memory).
    from signing.trust import TrustRoot

log = logging.getLogger("vouch.proxy")
_KEY_LENGTH = 214  # proxy_pages.name
_HEX = set("0123456789abcdef")


class VouchProxy(UpstreamProxy):
    ECOSYSTEM = "generic"
    OSV_ECOSYSTEM = "Vouch"
    _trust: TrustRoot | None = None

    # documents ---------------------------------------------------------------------------
    def package(self, name: str) -> tuple[PackagePublic, bool]:
        """Vouch's document of ``name`` and whether it is stale; raises ``PackageNotFound``
        for a local name or one the upstream does not have."""
        raw, stale = self._document(name, None)
        try:
            doc = PackagePublic.model_validate(raw)
        except ValueError as err:
            raise self._unreadable(name) from err
        quarantined = self.malicious_versions(name, {v.version for v in doc.versions})
        for summary in doc.versions:
            summary.quarantined = summary.quarantined or summary.version in quarantined
        if doc.latest in quarantined:
            doc.latest = None
        with session_scope(self.registry.engine) as session:
            doc.downloads = sum(row.downloads for row in self._rows(session, name))
        return doc.model_copy(update={"name": name}), stale

    def version(self, name: str, version: str) -> tuple[VersionPublic, bool]:
        """Vouch's document of ``name@version`` and whether it is stale; raises
        ``PackageNotFound`` / ``VersionNotFound``."""
        raw, stale = self._document(name, version)
        try:
            doc = VersionPublic.model_validate(raw)
        except ValueError as err:
            raise self._unreadable(name) from err
        if doc.name != name or doc.version != version:
            raise self._unreadable(name)
        quarantined = bool(self.malicious_versions(name, {version}))
        with session_scope(self.registry.engine) as session:
            row = self._row(session, name, version)
        served = not doc.unpublished and doc.sha256 is not None and not quarantined
        update: dict[str, Any] = {
            "quarantined": doc.quarantined or quarantined, "signer": None,
            "downloads": row.downloads if row else 0,
            "artifact_url": artifact_path(name, version) if served else None}
        if row is not None:  # the bytes Vouch verified are the ones it offers, for ever
            update.update(sha256=row.sha256, sha512=row.sha512, size=row.size,
                          filename=row.filename)
            self._alert_if_changed(name, row, doc.sha256)
        return doc.model_copy(update=update), stale

    def _alert_if_changed(self, name: str, row: ProxyFile, sha256: str | None) -> None:
        if sha256 is not None and row.digest_alert_at is None \
                and not hmac.compare_digest(row.sha256, sha256):
            self.alert_digest_changed(name, [(row, {"cached_sha256": row.sha256,
                                                    "upstream_sha256": sha256})])

    def _document(self, name: str, version: str | None,
                  provenance: bool = False) -> tuple[dict[str, Any], bool]:
        """The upstream's JSON document (cached for ``metadata_ttl``) and whether it is
        stale: the package's, a version's, or (``provenance``) a version's provenance."""
        try:
            parse_package_name(name)
        except DomainError:
            raise PackageNotFound(name[:214]) from None
        key = _key(name, f"{version}@provenance" if provenance else version)
        now = self.registry.clock.now()
        with session_scope(self.registry.engine) as session:
            if is_local(session, self.ECOSYSTEM, name):
                raise PackageNotFound(name)
            page = self.cached_page(session, key)
        if page is not None and now - _aware(page.fetched_at) < \
                timedelta(seconds=self.upstream.metadata_ttl):
            self.stats.add(self.upstream.name, "hits")
            return _decoded(page, name, version, provenance), False
        path = f"api/v1/packages/{quote(name, safe='@/')}"
        if version is not None:
            path += f"/versions/{quote(version, safe='')}"
        if provenance:
            path += "/provenance"
        try:
            answer = self.http.get(self.upstream.url + path, accept="application/json")
        except Exception:
            self.stats.add(self.upstream.name, "errors")
            if page is None:
                raise
            self.stats.add(self.upstream.name, "stale")
            log.warning("upstream %s is failing: serving its document of %s fetched at %s "
                        "(stale)", self.upstream.name, key, page.fetched_at)
            return _decoded(page, name, version, provenance), True
        self.stats.add(self.upstream.name, "misses")
        if answer.status == 404:
            self.store_page(key, False, "{}")
            raise _not_found(name, version, provenance)
        doc = self.usable_document(answer, name, "document")
        self.store_page(key, True, json.dumps(doc))
        return doc, False

    # batch metadata and provenance (what `vouch lock` / `vouch install` read) ------------
    def metadata(self, names: list[str]) -> tuple[dict[str, MetadataPackage], bool]:
        """The batch-metadata entries (``POST /api/v1/metadata``) of the ``names`` the
        upstream has, as Vouch's, and whether any is stale. Local and malformed names are
        left out (never asked upstream), and so are names the upstream lacks. One upstream
        request for every name not cached within ``metadata_ttl`` (each name's entry is kept
        under ``name@``); while the upstream fails the kept entries are served (stale), and
        a name with nothing kept raises the upstream's error (502 / 504) for the batch.
        ``signed``/``signing_method`` are the upstream's record: the client verifies the
        provenance (``provenance``) itself."""
        with session_scope(self.registry.engine) as session:
            wanted = [n for n in dict.fromkeys(names)
                      if _valid(n) and not is_local(session, self.ECOSYSTEM, n)]
            pages = {n: self.cached_page(session, _key(n, "")) for n in wanted}
        now, ttl = self.registry.clock.now(), timedelta(seconds=self.upstream.metadata_ttl)
        todo = [n for n, page in pages.items()
                if page is None or now - _aware(page.fetched_at) >= ttl]
        if len(todo) < len(wanted):
            self.stats.add(self.upstream.name, "hits")
        found = {n: json.loads(page.body) for n, page in pages.items()
                 if n not in todo and page is not None and page.found}
        stale = False
        if todo:
            try:
                fetched = self._fetch_metadata(todo)
            except Exception as err:
                self.stats.add(self.upstream.name, "errors")
                if any(pages[n] is None for n in todo):
                    if isinstance(err, DomainError):
                        raise
                    raise UpstreamUnavailable(
                        f"upstream {self.upstream.name!r} answered no usable metadata ({err})",
                        upstream=self.upstream.name) from err
                self.stats.add(self.upstream.name, "stale")
                log.warning("upstream %s is failing: serving kept metadata of %d names "
                            "(stale)", self.upstream.name, len(todo))
                stale = True
                found.update({n: json.loads(page.body) for n in todo
                              if (page := pages[n]) is not None and page.found})
            else:
                self.stats.add(self.upstream.name, "misses")
                for name in todo:
                    entry = fetched.get(name)
                    self.store_page(_key(name, ""), entry is not None, json.dumps(entry or {}))
                    if entry is not None:
                        found[name] = entry
        return {n: self._ours(n, entry) for n, entry in found.items()}, stale

    def _fetch_metadata(self, names: list[str]) -> dict[str, dict[str, Any]]:
        """The upstream's batch entries of ``names`` (checked); raises on any failure."""
        answer = self.http.post_json(self.upstream.url + "api/v1/metadata", {"names": names})
        if answer.status != 200:
            raise ValueError(f"HTTP {answer.status}")
        packages = json.loads(answer.body).get("packages")
        if not isinstance(packages, dict):
            raise ValueError("no packages")
        entries = {}
        for name in names:
            if name in packages:
                entry = MetadataPackage.model_validate(packages[name])
                if entry.name != name:
                    raise ValueError(f"an entry of another name for {name}")
                entries[name] = entry.model_dump(mode="json")
        return entries

    def _ours(self, name: str, entry: dict[str, Any]) -> MetadataPackage:
        """An upstream entry as this registry serves it: Vouch's artifact URLs, malicious
        versions quarantined, and the digests of bytes already verified and kept."""
        doc = MetadataPackage.model_validate(entry)
        quarantined = self.malicious_versions(name, {v.version for v in doc.versions})
        with session_scope(self.registry.engine) as session:
            rows = {row.version: row for row in self._rows(session, name)}
        for v in doc.versions:
            v.quarantined = v.quarantined or v.version in quarantined
            served = (not v.unpublished and not v.quarantined and v.sha256 is not None
                      and v.artifact_url is not None)
            v.artifact_url = artifact_path(name, v.version) if served else None
            row = rows.get(v.version)
            if row is not None:  # the bytes Vouch verified are the ones it offers, for ever
                v.sha256, v.sha512, v.size = row.sha256, row.sha512, row.size
        return doc

    def provenance(self, name: str, version: str) -> tuple[dict[str, Any], bool]:
        """The upstream's provenance document of ``name@version`` (cached like the version
        document; the client verifies it over the bytes itself) and whether it is stale;
        raises ``PackageNotFound`` (local name), ``ProvenanceNotFound`` or an upstream
        error."""
        raw, stale = self._document(name, version, provenance=True)
        try:
            doc = ProvenancePublic.model_validate(raw)
        except ValueError as err:
            raise self._unreadable(name) from err
        if doc.version != version:
            raise self._unreadable(name)
        return doc.model_dump(mode="json"), stale

    def purge(self, name: str | None = None) -> int:
        """Drop cached documents (all, or one package's, its versions' included)."""
        purged = super().purge(name)
        if name is not None:
            with session_scope(self.registry.engine, write=True) as session:
                rows = list(session.exec(select(ProxyPage).where(
                    ProxyPage.upstream == self.upstream.name,
                    col(ProxyPage.name).startswith(name + "@", autoescape=True))))
                for row in rows:
                    session.delete(row)
                purged += len(rows)
        return purged

    # artifacts ---------------------------------------------------------------------------
    def artifact(self, name: str, version: str) -> CachedFile:
        """The cached artifact of ``name@version`` (fetched and verified now if needed);
        raises ``PackageNotFound``, ``VersionNotFound``, ``NotFound``, ``VersionQuarantined``,
        ``UpstreamUnsigned``, ``UpstreamDigestMismatch`` or an upstream error."""
        try:
            parse_package_name(name)
        except DomainError:
            raise PackageNotFound(name[:214]) from None
        hit = self.cache_hit(name, version, lambda session: self._row(session, name, version),
                             lambda: self._unsigned(name, version))
        if hit is not None:
            return hit
        raw, _ = self._document(name, version)
        expected, filename = raw.get("sha256"), raw.get("filename")
        if raw.get("unpublished") or raw.get("artifact_url") is None:
            raise NotFound(f"upstream {self.upstream.name!r} serves no artifact for "
                           f"{name}@{version}", package=name, version=version)
        if not (isinstance(expected, str) and len(expected) == 64 and set(expected) <= _HEX
                and isinstance(filename, str) and filename and "/" not in filename):
            raise UpstreamDigestMismatch(f"upstream {self.upstream.name!r} advertises no sha256 "
                                         f"for {name}@{version}: it cannot be verified",
                                         package=name, version=version)
        base = (f"{self.upstream.url}api/v1/packages/{quote(name, safe='@/')}/versions/"
                f"{quote(version, safe='')}")

        def attest(sha256: str, _: str) -> bool:
            signed = self._sigstore_verified(base + "/provenance", name, version, sha256)
            if self.upstream.unsigned == "refuse" and not signed:
                raise self._unsigned(name, version)
            return signed

        return self.fetch_verified(name, version, filename, base + "/artifact",
                                   lambda sha256, _: hmac.compare_digest(sha256, expected),
                                   attest=attest)

    def _sigstore_verified(self, url: str, name: str, version: str, sha256: str) -> bool:
        """Whether the upstream's provenance of ``name@version`` is a Sigstore bundle that
        verifies for these bytes and the identity it names (any failure: False, logged)."""
        from signing.sigstore import verify_bundle
        from signing.trust import TrustRoot

        try:
            answer = self.http.get(url, accept="application/json")
            if answer.status != 200:
                raise ValueError(f"HTTP {answer.status}")
            doc = json.loads(answer.body)
            if doc.get("method") != "sigstore" or not isinstance(doc.get("bundle"), dict):
                raise ValueError(f"method {str(doc.get('method'))[:16]!r}, not sigstore")
            identity = doc.get("identity") or {}
            policy = GenericIdentity(san=str(identity["identity"]),
                                     issuer=str(identity["issuer"]))
            if self._trust is None:
                self._trust = TrustRoot.named(self.registry.settings.sigstore_trust)
            verify_bundle(json.dumps(doc["bundle"]), sha256, None, policy, self._trust,
                          now=self.registry.clock.now())
        except Exception as err:  # any failure: the artifact counts as unsigned
            log.warning("upstream %s: provenance of %s@%s does not verify (%s: %s)",
                        self.upstream.name, name, version[:64], err.__class__.__name__,
                        str(err)[:200])
            return False
        return True

    def _unsigned(self, name: str, version: str) -> UpstreamUnsigned:
        return UpstreamUnsigned(f"{name}@{version} from upstream {self.upstream.name!r} "
                                "carries no provenance this registry verified, and this "
                                "upstream's policy refuses unsigned versions; nothing was "
                                "stored", package=name, version=version)

    def _row(self, session: Session, name: str, version: str) -> ProxyFile | None:
        return session.exec(select(ProxyFile).where(
            ProxyFile.ecosystem == self.ECOSYSTEM, ProxyFile.name == name,
            ProxyFile.version == version)).first()

    def _rows(self, session: Session, name: str) -> list[ProxyFile]:
        return list(session.exec(select(ProxyFile).where(
            ProxyFile.ecosystem == self.ECOSYSTEM, ProxyFile.name == name)))

    def _unreadable(self, name: str) -> UpstreamUnavailable:
        self.stats.add(self.upstream.name, "errors")
        return UpstreamUnavailable(f"upstream {self.upstream.name!r} answered a document of "
                                   f"{name} that cannot be read", upstream=self.upstream.name)


def _key(name: str, version: str | None) -> str:
    """The ``proxy_pages`` name of a document: the package's name, or ``name@version``
    (hashed when that is longer than the column)."""
    if version is None:
        return name
    key = f"{name}@{version}"
    if len(key) <= _KEY_LENGTH:
        return key
    return f"{name[:140]}@{hashlib.sha256(key.encode()).hexdigest()}"


def _not_found(name: str, version: str | None, provenance: bool = False) -> NotFound:
    if provenance:
        return ProvenanceNotFound(f"{name}@{version} has no signature provenance upstream",
                                  package=name, version=version)
    return PackageNotFound(name) if version is None else VersionNotFound(name, version)


def _valid(name: str) -> bool:
    try:
        parse_package_name(name)
    except DomainError:
        return False
    return True


def _decoded(page: ProxyPage, name: str, version: str | None,
             provenance: bool = False) -> dict[str, Any]:
    if not page.found:
        raise _not_found(name, version, provenance)
    doc: dict[str, Any] = json.loads(page.body)
    return doc


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)
