"""npm packuments, tarballs, publishes, keys and audits under the registry's rules.

    npm = NpmService.build(registry)             # loads (or, in development, creates) the key
    npm.packument("@acme/widget", abbreviated=True, base_url="http://host/npm/")
    npm.tarball("@acme/widget", "widget-1.0.0.tgz")   # an Artifact, under the download rules
    npm.publish(body, "@acme/widget", principal)  # PUT /npm/@acme%2fwidget
    npm.audit(body, "gzip", base_url)             # POST /npm/-/npm/v1/security/advisories/bulk

An npm package is a ``Package`` of ecosystem ``npm`` (its name as npm spells it, SemVer
versions, one tarball per version). Its version manifest (package.json fields plus the
registry's own ``_id``, ``_npmUser`` and ``dist`` with ``integrity``, ``shasum`` and the
registry's ``signatures``) is stored with the tarball's file row (``core_metadata``), signed
at publish time; packuments are built from those rows, leaving out unpublished and quarantined
versions (and every version of a quarantined package). Publishing goes through
``PublishService.publish_staged``: the same authorization, signature policy (a ``.sigstore``
provenance bundle or a ``.tgz.asc`` GPG signature travels as an attachment; the npm CLI, which
cannot attach one, publishes with a signature staged beforehand, ``app.npm.staged``), trusted
publishers, blob handling and single transaction as every other format. A refused publish
leaves no blob, no row and no audit event.

``latest`` is the highest live release (the highest pre-release when there is none) unless an
owner set it with ``npm dist-tag add`` (``app.npm.tags``); tags of versions that are not live
are not offered.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from advisories.matching import Query
from advisories.models import Advisory
from app.accounts.service import Principal
from app.advisories.service import AdvisoryService
from app.core.config import Settings
from app.core.db import session_scope
from app.core.errors import (
    Conflict,
    DomainError,
    InvalidMetadata,
    NotFound,
    NulCharacter,
    VersionGone,
    VersionQuarantined,
)
from app.core.models import Package, PackageBlob, PackageFile, PackageVersion, Provenance
from app.npm import tags as dist_tags
from app.npm.changes import NpmChanges
from app.npm.errors import PublishedOver, PublishedOverBurned, from_format
from app.npm.staged import StagedSignatures
from app.publishing import ownership
from app.publishing import packages as pkgs
from app.publishing.downloads import Artifact
from app.publishing.names import parse_package_name
from app.publishing.publish import FilePlan, Published, PublishService, VersionFields
from app.publishing.staging import stage
from app.search import errors as search_errors
from app.trust.evidence import Evidence
from formats.errors import FormatError
from formats.npm import attestations, names
from formats.npm import audit as npm_audit
from formats.npm import search as npm_search
from formats.npm.packument import (
    VersionEntry,
    abbreviated_packument,
    full_packument,
)
from formats.npm.publish import MAX_MANIFEST_BYTES, NpmPublish, parse_publish
from formats.npm.signatures import RegistryKey, keys_document
from search import SearchIndex
from search.errors import InvalidSearchRequest, SearchUnavailable
from search.protocol import MAX_PAGE_SIZE

ECOSYSTEM = "npm"
FILETYPE = "npm"


def signing_key(settings: Settings) -> RegistryKey:
    """The registry's npm signing key from ``VOUCH_NPM_SIGNING_KEY`` (default
    ``<data dir>/npm-signing-key.pem``): created there on first start in development, required
    to exist in production. Raises ``formats.npm.errors.InvalidSigningKey``."""
    path = settings.npm_signing_key or settings.data_dir / "npm-signing-key.pem"
    return RegistryKey.load_or_create(path, create=settings.environment == "development")


@dataclass(frozen=True)
class _Live:
    version: PackageVersion
    file: PackageFile


class NpmService:
    def __init__(self, *, engine: Engine, publish: PublishService,
                 advisories: AdvisoryService, key: RegistryKey,
                 staged: StagedSignatures, changes: NpmChanges) -> None:
        self.engine = engine
        self.tags = dist_tags.DistTags(engine, publish.clock)
        self.publish_service = publish
        self.advisories = advisories
        self.key = key
        self.staged = staged
        self.changes = changes
        self.index: SearchIndex | None = None
        self.clock = publish.clock

    @classmethod
    def build(cls, registry: Any) -> NpmService:
        settings = registry.settings
        service = cls(engine=registry.engine, publish=registry.publish,
                      advisories=registry.advisories, key=signing_key(settings),
                      staged=StagedSignatures(settings.data_dir / "npm-signatures"),
                      changes=NpmChanges(registry.lifecycle, registry.clock,
                                         settings.unpublish_grace))
        service.index = registry.search
        return service

    # -- reads ------------------------------------------------------------------------------
    def packument(self, name: str, *, abbreviated: bool, base_url: str) -> dict[str, Any]:
        """The package's document; raises ``PackageNotFound`` (404)."""
        with session_scope(self.engine) as session:
            package = pkgs.get_package(session, name, ECOSYSTEM)
            live = _live_versions(session, package)
            bundles = _provenance_bundles(session, [item.file.id for item in live])
            tags = dist_tags.offered(session, package, [item.version for item in live])
        entries = []
        for item in live:
            manifest = json.loads(item.file.core_metadata or b"{}")
            raw = bundles.get(item.file.id)
            found = raw and attestations.pointer(
                f"{base_url}-/npm/v1/attestations/{name}@{item.version.version}", raw)
            if found:
                manifest["dist"] = {**manifest.get("dist", {}), "attestations": found}
            entries.append(VersionEntry(manifest,
                                        tarball_url(base_url, name, item.version.version),
                                        item.version.published_at, item.version.deprecated))
        modified = max([package.created_at, *(e.published_at for e in entries)])
        if abbreviated:
            return abbreviated_packument(name, entries, tags, modified=modified)
        return full_packument(name, entries, tags, created=package.created_at,
                              modified=modified, rev=_revision(live))

    def tarball(self, name: str, filename: str) -> Artifact:
        """The servable tarball; raises ``NotFound``, ``VersionGone`` (410, unpublished) or
        ``VersionQuarantined`` (403), as native downloads do."""
        try:
            version = names.version_of_tarball(name, filename)
        except FormatError as err:
            raise NotFound(f"{filename[:128]!r} is not a tarball of {name}") from err
        with session_scope(self.engine) as session:
            package = pkgs.get_package(session, name, ECOSYSTEM)
            row = pkgs.get_version(session, package, version)
            if row.unpublished_at is not None:
                raise VersionGone(name, version)
            if row.quarantined_at is not None or package.status == "quarantined":
                raise VersionQuarantined(name, version, row.quarantine_reason)
            found = session.exec(select(PackageFile, PackageBlob).where(
                PackageFile.version_id == row.id,
                PackageFile.blob_id == PackageBlob.id)).first()
            if found is None:
                raise NotFound(f"{name}@{version} has no tarball")
            file, blob = found
            assert row.id is not None
            return Artifact(package=package.name, version=row.version, version_id=row.id,
                            filename=file.filename, sha256=blob.sha256, sha512=blob.sha512,
                            size=blob.size)

    def attestations(self, spec: str) -> dict[str, Any]:
        """``{name}@{version}``'s verified provenance, as npm reads it; ``NotFound`` (404)
        for a version published without one (or not live)."""
        name, _, version = spec.rpartition("@")
        with session_scope(self.engine) as session:
            package = pkgs.get_package(session, name, ECOSYSTEM)
            live = {item.version.version: item for item in _live_versions(session, package)}
            item = live.get(version)
            raw = item and _provenance_bundles(session, [item.file.id]).get(item.file.id)
        document = attestations.attestations_document([raw] if raw else [])
        if not document["attestations"]:
            raise NotFound(f"{spec[:128]} has no attestations", package=name, version=version)
        return document

    def search(self, text: str, *, size: int, offset: int, base_url: str) -> dict[str, Any]:
        """``npm search``: npm packages among the first ``MAX_PAGE_SIZE`` ranked matches of the
        registry's search index (exact name first), ``size`` of them from ``offset``."""
        if self.index is None or not text.strip():
            return npm_search.search_document([], total=0, now=self.clock.now(),
                                              package_url=lambda n: base_url + n)
        try:
            page = self.index.search(text, page=1, size=MAX_PAGE_SIZE)
        except (InvalidSearchRequest, SearchUnavailable) as err:
            raise search_errors.from_library(err) from err
        hits = [npm_search.SearchEntry(h.name, h.latest_version, h.description, h.keywords,
                                       h.updated_at, h.maintainers, h.score)
                for h in page.results if h.ecosystem == ECOSYSTEM and not h.quarantined]
        return npm_search.search_document(
            hits[offset:offset + size], total=len(hits), now=self.clock.now(),
            package_url=lambda n: base_url + n)

    def keys(self) -> dict[str, Any]:
        return keys_document([self.key])

    def audit(self, body: bytes, content_encoding: str | None,
              base_url: str) -> dict[str, list[dict[str, Any]]]:
        """``npm audit``'s bulk answer from the published advisories (ecosystem npm)."""
        try:
            wanted = npm_audit.parse_bulk_request(body, content_encoding=content_encoding)
        except FormatError as err:
            raise from_format(err) from err
        names_asked = list(wanted)
        found = self.advisories.query_batch([Query(ECOSYSTEM, n) for n in names_asked])
        by_name = dict(zip(names_asked, found, strict=True))

        def url_for(record: Advisory) -> str:
            return f"{base_url.split('/npm/')[0]}/advisories/{quote(record.id)}"

        return npm_audit.bulk_answer(wanted, lambda n: by_name.get(n, []), url_for)

    # -- writes -----------------------------------------------------------------------------
    def put(self, body: bytes, name: str, principal: Principal, base_url: str,
            rev: str | None = None) -> Published | None:
        """``PUT /{name}``: a publish when the body carries ``_attachments``, otherwise a
        change (deprecate, undeprecate, unpublish of versions left out; ``app.npm.changes``).
        ``rev`` (the ``/-rev/{rev}`` form) must be the current ``_rev``."""
        doc = _json_object(body)
        if "_attachments" in doc and rev is None:
            return self.publish(doc, name, principal)
        self.change(doc, name, principal, base_url, rev)
        return None

    def change(self, doc: dict[str, Any], name: str, principal: Principal, base_url: str,
               rev: str | None) -> None:
        served, published = self._current(name, principal, base_url, "deprecate")
        if rev is not None and rev != served["_rev"]:
            raise Conflict(f"{name} changed since it was read (_rev {served['_rev']}); "
                           "read it again", package=name)
        self.changes.apply(doc, name, principal, served, published)

    def unpublish_all(self, name: str, principal: Principal, base_url: str) -> None:
        """``DELETE /{name}/-rev/{rev}``: every live version, all within the grace period."""
        _, published = self._current(name, principal, base_url, "unpublish")
        self.changes.unpublish_all(name, principal, published)

    def delete_tarball(self, name: str, filename: str, principal: Principal,
                       base_url: str) -> None:
        """The last step of ``npm unpublish NAME@VERSION``: the version is already gone, or
        is unpublished now (within the grace period)."""
        try:
            version = names.version_of_tarball(name, filename)
        except FormatError as err:
            raise NotFound(f"{filename[:128]!r} is not a tarball of {name}") from err
        _, published = self._current(name, principal, base_url, "unpublish")
        if version in published:
            self.changes.unpublish_all(name, principal, {version: published[version]})

    def dist_tags(self, name: str) -> dict[str, str]:
        """``npm dist-tag ls``: the tags a packument shows (``app.npm.tags.offered``)."""
        with session_scope(self.engine) as session:
            package = pkgs.get_package(session, name, ECOSYSTEM)
            live = _live_versions(session, package)
            return dist_tags.offered(session, package, [item.version for item in live])

    def _current(self, name: str, principal: Principal, base_url: str,
                 action: str) -> tuple[dict[str, Any], dict[str, str]]:
        with session_scope(self.engine) as session:
            package = pkgs.get_package(session, name, ECOSYSTEM)
            ownership.require_owner(session, package, principal, action)
            published = {item.version.version: item.version.published_at.isoformat()
                          for item in _live_versions(session, package)}
        return self.packument(name, abbreviated=False, base_url=base_url), published

    def publish(self, body: bytes | dict[str, Any], name: str,
                principal: Principal) -> Published:
        """Publish the one version an ``npm publish`` body carries. Raises the format's
        errors (as domain errors), ``PublishedOver`` / ``PublishedOverBurned`` (409),
        ``Forbidden``, ``PayloadTooLarge`` and the signature errors."""
        service = self.publish_service
        try:
            parsed = parse_publish(body, name, max_tarball_bytes=service.max_upload_bytes)
        except FormatError as err:
            raise from_format(err) from err
        package_name = parse_package_name(name)
        ownership.require_action(principal, "publish", name)
        # `npm publish --tag next` sets `next`; `latest` is computed unless set by dist-tag add
        publish_tags = [dist_tags.check_tag(t) for t in parsed.dist_tags if t != dist_tags.LATEST]
        raw = _stored_manifest(parsed, principal, self.key)
        with stage(io.BytesIO(parsed.tarball), limit=service.max_upload_bytes,
                   directory=service.staging_dir) as staged:
            plan = FilePlan(
                ecosystem=ECOSYSTEM, name=package_name, version=parsed.version,
                sort_key=names.version_sort_key(parsed.version),
                filename=names.tarball_filename(name, parsed.version),
                upload_filename=purl(name, parsed.version),
                fields=_fields(parsed.manifest),
                file_fields={"filetype": FILETYPE, "uploaded_at": service.clock.now(),
                             "core_metadata": raw,
                             "core_metadata_sha256": hashlib.sha256(raw).hexdigest()})
            signature = parsed.gpg_signature
            from_stage = signature is None and parsed.provenance is None
            if from_stage:  # handed in before `npm publish` (PUT /npm/-/vouch/signature/...)
                signature = self.staged.find(principal, parsed.digests.sha512)
            evidence = Evidence(sigstore_bundle=parsed.provenance, gpg_signature=signature)
            rules = _NpmRules(publish_tags)
            published = service.publish_staged(plan, staged, evidence, principal, rules)
        if from_stage and signature is not None:
            self.staged.discard(principal, parsed.digests.sha512)
        return published


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise InvalidMetadata(f"the body is not JSON: {str(err)[:200]}") from err
    if not isinstance(doc, dict):
        raise InvalidMetadata("the body must be a JSON object")
    return doc


def tarball_url(base_url: str, name: str, version: str) -> str:
    """``{registry}/{name}/-/{base}-{version}.tgz`` (``base_url`` ends with ``/npm/``)."""
    return f"{base_url}{name}/-/{names.tarball_filename(name, version)}"


def purl(name: str, version: str) -> str:
    """The subject name of npm provenance: ``pkg:npm/%40acme/widget@1.0.0``."""
    return f"pkg:npm/{name.replace('@', '%40', 1) if name.startswith('@') else name}@{version}"


def _stored_manifest(parsed: NpmPublish, principal: Principal, key: RegistryKey) -> bytes:
    integrity = parsed.digests.integrity
    manifest = {
        **parsed.manifest,
        "_id": f"{parsed.name}@{parsed.version}",
        "_npmUser": {"name": principal.name},
        "dist": {"integrity": integrity, "shasum": parsed.digests.shasum,
                 "signatures": [key.sign(parsed.name, parsed.version, integrity)]},
    }
    raw = json.dumps(manifest, separators=(",", ":"), sort_keys=True).encode()
    if b"\\u0000" in raw:
        raise NulCharacter("the manifest contains a NUL character")
    if len(raw) > MAX_MANIFEST_BYTES:
        raise InvalidMetadata(f"the version manifest is larger than {MAX_MANIFEST_BYTES} bytes")
    return raw


def _fields(manifest: dict[str, Any]) -> VersionFields:
    def text(key: str, limit: int) -> str | None:
        value = manifest.get(key)
        return value[:limit] if isinstance(value, str) else None

    repository = manifest.get("repository")
    if isinstance(repository, dict):
        repository = repository.get("url")
    keywords = manifest.get("keywords")

    def deps(key: str) -> dict[str, str]:
        value = manifest.get(key)
        if not isinstance(value, dict):
            return {}
        return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}

    return VersionFields(
        description=text("description", 10_000) or "", license=text("license", 256),
        keywords=[k for k in keywords if isinstance(k, str)][:50]
        if isinstance(keywords, list) else [],
        repository=repository[:512] if isinstance(repository, str) else None,
        dependencies=deps("dependencies"), dev_dependencies=deps("devDependencies"))


def _live_versions(session: Session, package: Package) -> list[_Live]:
    if package.status == "quarantined":
        return []
    rows = session.exec(
        select(PackageVersion, PackageFile)
        .where(PackageFile.version_id == PackageVersion.id,
               PackageVersion.package_id == package.id,
               col(PackageVersion.unpublished_at).is_(None),
               col(PackageVersion.quarantined_at).is_(None))
        .order_by(col(PackageVersion.sort_key))).all()
    return [_Live(version, file) for version, file in rows]


def _provenance_bundles(session: Session,
                        file_ids: list[int | None]) -> dict[int | None, str]:
    """The Sigstore bundles verified at publish, by file id."""
    ids = [i for i in file_ids if i is not None]
    if not ids:
        return {}
    rows = session.exec(select(Provenance).where(col(Provenance.file_id).in_(ids),
                                                 Provenance.method == "sigstore")).all()
    return {row.file_id: row.raw for row in rows}


def _revision(live: list[_Live]) -> str:
    """A CouchDB-style ``_rev`` that changes with every version and deprecation change."""
    state = json.dumps([[i.version.version, i.version.deprecated] for i in live]).encode()
    return f"{len(live) + 1}-{hashlib.sha256(state).hexdigest()[:32]}"


class _NpmRules:
    """An npm version is one tarball, published once: an existing number (live or
    unpublished) is refused with npm's wording. The publish's ``--tag`` (not ``latest``) is
    pointed at the new version in the same transaction. Dependencies are not required to be in this
    registry (npm registries do not require it)."""

    def __init__(self, tags: list[str] | None = None) -> None:
        self.tags = tags or []

    def check(self, session: Session, package: Package | None, plan: FilePlan) -> None:
        if package is None:
            return
        existing = session.exec(select(PackageVersion).where(
            PackageVersion.package_id == package.id,
            PackageVersion.version == plan.version)).first()
        if existing is not None:
            raise _taken(plan.name.full, plan.version, existing)

    def version_row(self, session: Session, package: Package, plan: FilePlan,
                    principal: Principal, now: datetime) -> PackageVersion:
        assert package.id is not None
        fields = plan.fields
        row = PackageVersion(
            package_id=package.id, version=plan.version, sort_key=plan.sort_key,
            description=fields.description, license=fields.license, keywords=fields.keywords,
            repository=fields.repository, dependencies=fields.dependencies,
            dev_dependencies=fields.dev_dependencies, published_at=now,
            published_by_id=principal.user_id, published_by=principal.name)
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError as err:
            existing = session.exec(select(PackageVersion).where(
                PackageVersion.package_id == package.id,
                PackageVersion.version == plan.version)).first()
            raise _taken(plan.name.full, plan.version, existing) from err
        for tag in self.tags:  # `npm publish --tag`: in the publish's transaction
            assert row.id is not None
            dist_tags.point(session, package, tag, row.id, now)
        return row

    def file_taken(self, session: Session, row: PackageVersion, plan: FilePlan) -> DomainError:
        return PublishedOver(plan.name.full, plan.version)


def _taken(name: str, version: str, existing: PackageVersion | None) -> DomainError:
    if existing is not None and existing.unpublished_at is not None:
        return PublishedOverBurned(name, version)
    return PublishedOver(name, version)
