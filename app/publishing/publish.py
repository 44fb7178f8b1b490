"""Publish one version (native) or one file of a version (any format): named steps.

    published = PublishService(...).publish(request, principal)          # native, SemVer
    published = service.publish_staged(plan, staged, evidence, principal, rules)   # a format

Every format goes through ``publish_staged``: the same authorization, signature policy,
trusted-publisher and ownership rules, blob handling and single recording transaction. A
format decides only what its ``FilePlan`` says (ecosystem, canonical name and version, the
stored filename, version and file fields) and its ``VersionRules``: whether the version may
take this file (native: a version is one artifact, published once; Python: several files per
release, see ``app.pypi``).

Steps (DESIGN.md, "Publish"): authorize, stage, validate, verify the signature, store the blob,
record everything in one transaction. The database's unique constraint on (package, version)
decides races: the loser gets ``VersionExists`` (or ``VersionBurned`` after an unpublish). A
blob that this request created is deleted again when the transaction fails, unless a committed
row references it. A rejected publish leaves no blob, no row and no audit event.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from pydantic import ValidationError
from sqlalchemy import Integer, and_, bindparam, exists, insert
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from advisories.ecosystems import normalize_name, osv_ecosystem
from app.accounts.service import Principal
from app.advisories.service import advisories_for_version
from app.core import driver_sql
from app.core.clock import Clock
from app.core.db import session_scope
from app.core.errors import (
    DomainError,
    Forbidden,
    InvalidMetadata,
    UnmetDependencies,
    VersionBurned,
    VersionExists,
)
from app.core.models import (
    AdvisoryPackage,
    Package,
    PackageBlob,
    PackageFile,
    PackageOwner,
    PackageVersion,
    PendingPolicy,
    Provenance,
    TrustedPublisher,
)
from app.core.records import RecordBatch
from app.publishing import ownership
from app.publishing import packages as pkgs
from app.publishing.blob_refs import (
    BlobReleases,
    digest_lock_key,
    ensure_stored,
    store_again_if_gone,
)
from app.publishing.inserts import adopt, insert_unless_taken
from app.publishing.names import PackageName, parse_package_name
from app.publishing.schemas import PublishMetadata
from app.publishing.staging import Staged, check_declared_digest, stage
from app.publishing.versioning import parse_range, parse_version
from app.storage import BlobStore
from app.trust import pending_policies, publisher_rules
from app.trust.evidence import Evidence, PublishContext, SignatureChecker, VerifiedEvidence

log = logging.getLogger("vouch.publish")

#: The largest upload stored inside the recording transaction (``_quick_to_store``).
ONE_TRANSACTION_MAX_BYTES = 1024 * 1024


@dataclass(frozen=True)
class PublishRequest:
    name: str
    version: str
    metadata: str | bytes
    artifact: BinaryIO
    filename: str
    declared_sha256: str | None = None
    evidence: Evidence = field(default_factory=Evidence)


@dataclass(frozen=True)
class Published:
    package: Package
    version: PackageVersion
    blob: PackageBlob
    filename: str
    provenance: Provenance | None
    file: PackageFile | None = None
    #: The advisories affecting the new version, read in the recording transaction (None:
    #: not read; ``reads.published`` then asks the database).
    advisories: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class VersionFields:
    """What a version row records about its release (set by its first file)."""

    description: str = ""
    license: str | None = None
    keywords: list[str] = field(default_factory=list)
    repository: str | None = None
    dependencies: dict[str, str] = field(default_factory=dict)
    dev_dependencies: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FilePlan:
    """One file to publish, as its format decided it (names and versions canonical)."""

    ecosystem: str
    name: PackageName
    version: str
    sort_key: str
    filename: str  # the name the registry stores and serves the file under
    upload_filename: str  # the client's name for it (a signature's subject names this)
    fields: VersionFields = field(default_factory=VersionFields)
    file_fields: dict[str, Any] = field(default_factory=dict)  # extra PackageFile columns


class VersionRules(Protocol):
    """How a format's versions take files."""

    def check(self, session: Session, package: Package | None, plan: FilePlan) -> None:
        """Cheap early refusal in the read session (the write transaction decides races)."""
        ...

    def version_row(self, session: Session, package: Package, plan: FilePlan,
                    principal: Principal, now: datetime) -> PackageVersion:
        """In the write transaction: the version row that takes the file (created, or an
        existing one the format allows); raises the format's conflict errors."""
        ...

    def file_taken(self, session: Session, row: PackageVersion, plan: FilePlan) -> DomainError:
        """The error for a file row the unique (version, filename) refused."""
        ...


class PublishService:
    """Publishes versions; constructed once per app with its collaborators."""

    def __init__(
        self, *, engine: Engine, blobs: BlobStore, clock: Clock, staging_dir: Path,
        max_upload_bytes: int, max_metadata_bytes: int, signatures: SignatureChecker,
        on_published: Callable[[Published], None] | None = None,
    ) -> None:
        self.engine = engine
        self.blobs = blobs
        self.clock = clock
        self.staging_dir = staging_dir
        self.max_upload_bytes = max_upload_bytes
        self.max_metadata_bytes = max_metadata_bytes
        self.signatures = signatures
        self.on_published = on_published

    def publish(self, request: PublishRequest, principal: Principal) -> Published:
        """A native (``generic``) version: one artifact, SemVer, JSON metadata."""
        name = parse_package_name(request.name)
        ownership.require_action(principal, "publish", name.full)
        parsed = parse_version(request.version)
        version_text = str(parsed)
        metadata = self._parse_metadata(request.metadata)
        with stage(request.artifact, limit=self.max_upload_bytes,
                   directory=self.staging_dir) as staged:
            check_declared_digest(staged, request.declared_sha256)
            filename = _artifact_filename(name, version_text, request.filename)
            plan = FilePlan(
                ecosystem="generic", name=name, version=version_text,
                sort_key=parsed.sort_key(), filename=filename,
                upload_filename=request.filename or filename,
                fields=VersionFields(
                    description=metadata.description, license=metadata.license,
                    keywords=metadata.keywords, repository=metadata.repository,
                    dependencies=metadata.dependencies,
                    dev_dependencies=metadata.dev_dependencies))
            return self.publish_staged(plan, staged, request.evidence, principal,
                                       _NativeRules(self, metadata), advisories=True)

    def publish_staged(self, plan: FilePlan, staged: Staged, evidence: Evidence,
                       principal: Principal, rules: VersionRules,
                       signatures: SignatureChecker | None = None, *,
                       advisories: bool = False) -> Published:
        """Authorize, check, verify the signature under the package's policy, store the blob
        and record the file, for any format. The caller has checked the token's scope
        (``ownership.require_action``) and staged the bytes. ``signatures`` replaces the
        registry's checker for evidence a format adds (it must apply the same policy).
        ``advisories``: read the advisories affecting the new version in the recording
        transaction (for the version document answered). A refusal leaves no blob, no row,
        no audit event."""
        checker = signatures or self.signatures
        if (self.engine.dialect.name == "postgresql" and self._quick_to_store(staged)
                and checker.verifies_in_process(evidence)):
            published = self._publish_in_one_transaction(plan, staged, evidence, principal,
                                                         rules, checker, advisories)
        else:
            published = self._publish_verified(plan, staged, evidence, principal, rules,
                                               checker, advisories)
        if self.on_published is not None:
            self.on_published(published)
        return published

    def _quick_to_store(self, staged: Staged) -> bool:
        """Whether storing ``staged`` is quick enough to do inside a transaction: a local
        blob directory (a hard link and one fsync) and a small upload. An S3 upload, or the
        fsync of a large file, would hold a pooled connection for its whole duration."""
        return (staged.size <= ONE_TRANSACTION_MAX_BYTES
                and self.blobs.local_path(staged.sha256) is not None)

    def _publish_verified(self, plan: FilePlan, staged: Staged, evidence: Evidence,
                          principal: Principal, rules: VersionRules, checker: SignatureChecker,
                          advisories: bool) -> Published:
        """Check in a read session, verify the signature with no connection held, store the
        blob, then record in a write transaction that confirms what could have changed."""
        # Early refusals only: the write transaction decides again, so no snapshot is needed.
        with session_scope(self.engine, snapshot=False) as session:
            package = self._authorize(session, plan, principal)
            rules.check(session, package, plan)
            ctx = self._context(plan, staged, evidence, principal, package)
            verification = checker.prepare(session, ctx)
        # Issue 11: gpg, Sigstore and the online Rekor lookup run with no connection held;
        # _record confirms in its write transaction what could have changed meanwhile.
        verified = verification()
        stored = _BlobWrite(created=self.blobs.put_file(staged.sha256, staged.path))
        with self._discarded_on_failure(stored, staged), \
                session_scope(self.engine, write=True) as session:
            # Begin now (SQLite: the write lock), before anything is decided or re-checked:
            # every confirmation below runs inside this transaction, even when no statement
            # has run yet (a name found free is claimed without a read).
            session.connection()
            return self._record(session, ctx, plan, rules, checker, verified, stored,
                                advisories, decided=False)

    def _publish_in_one_transaction(self, plan: FilePlan, staged: Staged, evidence: Evidence,
                                    principal: Principal, rules: VersionRules,
                                    checker: SignatureChecker, advisories: bool) -> Published:
        """PostgreSQL, a small upload to the local blob directory (``_quick_to_store``),
        and nothing to verify outside the process: no signature, or a Sigstore bundle
        checked offline (``verifies_in_process``: about 1.5 ms of CPU, where gpg or an online
        Rekor lookup take seconds and run with no connection held, issue 11). Nothing has to
        run outside a transaction, so the checks run once, in the transaction that records,
        and nothing is read twice (issue 13: a read session and four of an unsigned first
        publish's eighteen round trips; ten of a Sigstore one's twenty). The policy still
        decides: one that requires a signature refuses here, as in ``_publish_verified``,
        and a bundle that fails its check rolls the transaction back before any row or blob
        is written. The blob is stored once the publish is verified and before any row is
        written; a PostgreSQL transaction locks only the rows it writes, so holding it
        meanwhile blocks nobody (SQLite's single write lock would: there the checks and the
        blob's fsync stay outside, ``_publish_verified``)."""
        stored = _BlobWrite(created=False)
        with self._discarded_on_failure(stored, staged), \
                session_scope(self.engine, write=True) as session:
            package = self._authorize(session, plan, principal)
            rules.check(session, package, plan)
            ctx = self._context(plan, staged, evidence, principal, package)
            verified = checker.prepare(session, ctx)()  # in process: CPU, no I/O
            stored.created = self.blobs.put_file(staged.sha256, staged.path)
            return self._record(session, ctx, plan, rules, checker, verified, stored,
                                advisories, decided=True)

    @contextmanager
    def _discarded_on_failure(self, stored: _BlobWrite, staged: Staged) -> Iterator[None]:
        """Around the recording transaction (entered first, so left after its rollback): a
        publish that fails removes the bytes it stored (``_discard_blob``)."""
        try:
            yield
        except BaseException:
            if stored.created:
                self._discard_blob(staged.sha256)
            raise

    # -- steps ------------------------------------------------------------------------------
    def _parse_metadata(self, raw: str | bytes) -> PublishMetadata:
        if len(raw) > self.max_metadata_bytes:
            raise InvalidMetadata(f"metadata is larger than {self.max_metadata_bytes} bytes")
        try:
            data = json.loads(raw or "{}")
        except (ValueError, UnicodeDecodeError) as err:
            raise InvalidMetadata(f"metadata is not valid JSON: {err}") from err
        if not isinstance(data, dict):
            raise InvalidMetadata("metadata must be a JSON object")
        try:
            return PublishMetadata.model_validate(data)
        except ValidationError as err:
            problems = [{"loc": ".".join(str(p) for p in e["loc"]), "msg": e["msg"]}
                        for e in err.errors()]
            raise InvalidMetadata("metadata does not match the schema", errors=problems) from err

    def _authorize(self, session: Session, plan: FilePlan,
                   principal: Principal) -> Package | None:
        name = plan.name
        package = pkgs.find_package(session, name.full, plan.ecosystem)
        if package is None:
            ownership.require_may_create(session, name, principal, now=self.clock.now())
            return None
        ownership.require_owner(session, package, principal, "publish")
        if package.status == "quarantined":
            raise Forbidden(f"{name.full} is quarantined; new versions are refused",
                            package=name.full)
        return package

    def _check_not_taken(self, session: Session, package: Package | None, name: PackageName,
                         version: str) -> None:
        """Fail early and cheaply; the unique constraint stays the real guard against races."""
        if package is None:
            return
        existing = driver_sql.first(session, _VERSION_STATE, {"package_id": package.id,
                                                               "version": version})
        if existing is not None:
            raise _taken(name.full, version, existing.unpublished_at is not None)

    def _check_dependencies(self, session: Session, metadata: PublishMetadata) -> None:
        unmet: list[dict[str, str]] = []
        for kind, deps in (("dependencies", metadata.dependencies),
                           ("dev_dependencies", metadata.dev_dependencies)):
            for dep_name, spec in sorted(deps.items()):
                reason = self._unmet_reason(session, dep_name, spec)
                if reason:
                    unmet.append({"name": dep_name, "range": spec, "kind": kind,
                                  "reason": reason})
        if unmet:
            raise UnmetDependencies(unmet)

    def _unmet_reason(self, session: Session, dep_name: str, spec: str) -> str | None:
        wanted = parse_range(spec)
        if wanted is None:
            return "not a valid version range"
        package = pkgs.package_state(session, dep_name)
        if package is None:
            return "no such package in this registry"
        candidates = session.execute(_AVAILABLE_VERSIONS, {"package_id": package.id}).scalars()
        if not any(wanted.satisfies(parse_version(v)) for v in candidates):
            return "no published version satisfies the range"
        return None

    def _context(self, plan: FilePlan, staged: Staged, evidence: Evidence,
                 principal: Principal, package: Package | None) -> PublishContext:
        return PublishContext(name=plan.name, ecosystem=plan.ecosystem, package=package,
                              version=plan.version, filename=plan.filename, staged=staged,
                              upload_filename=plan.upload_filename, evidence=evidence,
                              principal=principal, now=self.clock.now())

    def _record(self, session: Session, ctx: PublishContext, plan: FilePlan,
                rules: VersionRules, checker: SignatureChecker,
                verified: VerifiedEvidence | None, stored: _BlobWrite, advisories: bool, *,
                decided: bool) -> Published:
        """Write the package (if new), version, blob and file rows, provenance, audit events
        and the search outbox item in ``session``'s transaction. ``decided``: the
        authorization and the policy were read in this same transaction, so they stand;
        otherwise they are confirmed here first."""
        name, version, staged, filename = ctx.name, ctx.version, ctx.staged, ctx.filename
        principal = ctx.principal
        now = self.clock.now()
        checked = verified
        records = RecordBatch(session)  # written together below, before the commit

        def confirm() -> VerifiedEvidence | None:
            return checker.confirm(session, ctx, checked)

        package, verified = self._get_or_create_package(session, ctx, plan, principal, now,
                                                        confirm, records,
                                                        decided=_Decided(checked) if decided
                                                        else None)
        assert package.id is not None
        row = rules.version_row(session, package, plan, principal, now)
        # Issue 10: an unpublish may have removed these bytes since our put_file (another
        # version shared them). Under the digest's lock, store them again if so: after the
        # commit our file row keeps every deleter away.
        blob, restored = self._blob_row(session, staged, now)
        if restored:
            stored.created = True
        assert row.id is not None and blob.id is not None
        file = insert_unless_taken(session, PackageFile(
            version_id=row.id, blob_id=blob.id, filename=filename, **plan.file_fields))
        if file is None:  # the unique (version, filename) decided a race against us
            raise rules.file_taken(session, row, plan)
        assert file.id is not None
        provenance = None
        if verified is not None:
            provenance = insert_unless_taken(session, Provenance(
                file_id=file.id, method=verified.method, raw=verified.raw,
                identity=verified.identity, log_index=verified.log_index,
                log_id=verified.log_id, integrated_time=verified.integrated_time,
                verified_at=now,
            ))
            assert provenance is not None  # a new file has no provenance yet
        extra = {} if plan.ecosystem == "generic" else {"ecosystem": plan.ecosystem,
                                                         "filename": filename}
        records.audit(at=now, actor=principal.name, action="version:publish",
                      package=name.full, version=version, sha256=staged.sha256,
                      size=staged.size, signature=verified.method if verified else None,
                      signer=verified.identity if verified else None, **extra)
        records.enqueue(at=now, kind="search.reindex", package=name.full,
                        **({} if plan.ecosystem == "generic"
                           else {"ecosystem": plan.ecosystem}))
        records.flush()
        # Read here, where the new row is visible and nothing else can be, instead of in
        # a session of its own afterwards (issue 13): ranges match versions never seen.
        found = _advisories(session, package, row.version) if advisories else None
        return Published(package=package, version=row, blob=blob, filename=filename,
                         provenance=provenance, file=file, advisories=found)

    def _get_or_create_package(
        self, session: Session, ctx: PublishContext, plan: FilePlan, principal: Principal,
        now: datetime, confirm: Callable[[], VerifiedEvidence | None], records: RecordBatch,
        *, decided: _Decided | None = None,
    ) -> tuple[Package, VerifiedEvidence | None]:
        """The package, created by this publish if it does not exist. Who may publish is
        decided again here, inside the write transaction: between the read-only authorization
        and now, another first publish may have created the package (its unique name decides
        the race), its owners and publishers may have changed, or it may have been
        quarantined. ``confirm`` re-checks the signature's premises once who may publish is
        settled, before a new package claims its pending publishers (the claim removes other
        accounts' publishers). ``decided``: the authorization and the policy were read in this
        transaction (``_publish_in_one_transaction``); what they found stands, and only a
        package another publish created since then is checked again."""
        name = plan.name
        if decided is not None and ctx.package is not None:
            return ctx.package, decided.verified
        # A name the authorization found free is claimed straight away: the unique name
        # decides (a package created meanwhile makes the insert below find nothing to do).
        state = (None if ctx.package is None
                 else pkgs.package_state(session, name.full, plan.ecosystem))
        if state is None:
            if decided is None:
                ownership.require_may_create(session, name, principal, now=now)
            owner_id = ownership.creator_id(session, name, principal, now=now)
            if name.scope is None and owner_id is None:
                raise Forbidden(f"nobody can be made owner of {name.full} through this token",
                                package=name.full)
            # While the name is still free (pending publishers act).
            verified = confirm() if decided is None else decided.verified
            created = self._insert_package(session, plan, owner_id, now)
            if created is not None:
                self._created(session, created, principal, now, records)
                return created.package, verified
            # Another first publish won the race (its unique name): this one may only add a
            # version to that package if it owns it (issue 9: never into someone else's).
            package = pkgs.get_package(session, name.full, plan.ecosystem)
        elif ctx.package is not None and ctx.package.id == state.id:
            package = ctx.package  # the row the authorization read (its status is re-read)
        else:  # created by another publish since the authorization
            package = pkgs.get_package(session, name.full, plan.ecosystem)
        ownership.require_owner(session, package, principal, "publish")
        status = state.status if state is not None else package.status
        if status == "quarantined":  # quarantined since the authorization
            raise Forbidden(f"{name.full} is quarantined; new versions are refused",
                            package=name.full)
        return package, confirm()

    def _insert_package(self, session: Session, plan: FilePlan, owner_id: int | None,
                        now: datetime) -> _NewPackage | None:
        """Insert the package and, for an unscoped one, its owner (a scope's members own its
        packages), unless a package holds the name already (None: the unique name decided a
        race); and tell whether the name has pending trusted publishers or signature policies
        to settle (``_created``). PostgreSQL: one statement (a data-modifying ``WITH``);
        SQLite, which has none: one per step."""
        package = Package(ecosystem=plan.ecosystem, name=plan.name.full, scope=plan.name.scope,
                          created_at=now)
        owner = owner_id if package.scope is None else None
        if session.get_bind().dialect.name == "postgresql":
            row = driver_sql.first(session, _CREATE_PACKAGE, {
                **{column: getattr(package, column) for column in _PACKAGE_COLUMNS},
                "owner_id": owner})
            if row.id is None:
                return None
            return _NewPackage(adopt(session, package, row.id), row.publishers, row.policies)
        created = insert_unless_taken(session, package)
        if created is None:
            return None
        if owner is not None:
            driver_sql.fetch(session, _ADD_OWNER, {"package_id": created.id, "user_id": owner})
        (publishers, policies), = driver_sql.fetch(session, _PENDING_CLAIMS,
                                                   {"name": created.name})
        return _NewPackage(created, publishers, policies)

    def _created(self, session: Session, new: _NewPackage, principal: Principal,
                 now: datetime, records: RecordBatch) -> None:
        """Audit the new package, then settle the pending trusted publishers and signature
        policies of its name (usually none): its owners' become the package's, everyone
        else's are invalidated."""
        package = new.package
        records.audit(at=now, actor=principal.name, action="package:create",
                      package=package.name)
        if new.publishers or new.policies:
            records.flush()  # the claims' own audit events come after package:create
        if new.publishers:
            publisher_rules.claim_pending(session, package, actor=principal.name, now=now)
        if new.policies:
            pending_policies.claim(session, package, actor=principal.name, now=now)

    def _blob_row(self, session: Session, staged: Staged,
                  now: datetime) -> tuple[PackageBlob, bool]:
        """Under the digest's lock, the bytes are stored (True: this call stored them again,
        ``ensure_stored``) and the digest's row exists (``_get_or_create_blob``). PostgreSQL
        takes the lock and inserts the row in one statement; the row is only the digest's
        record, so checking the bytes after inserting it, still under the lock, decides the
        same races."""
        if session.get_bind().dialect.name != "postgresql":
            restored = ensure_stored(session, self.blobs, staged.sha256, staged.path)
            return self._get_or_create_blob(session, staged, now), restored
        blob = PackageBlob(sha256=staged.sha256, sha512=staged.sha512, size=staged.size,
                           created_at=now)
        new_id = driver_sql.run_text(session, _LOCK_AND_INSERT_BLOB, {
            "key": digest_lock_key(staged.sha256), "sha256": blob.sha256,
            "sha512": blob.sha512, "size": blob.size, "created_at": now})
        restored = store_again_if_gone(self.blobs, staged.sha256, staged.path)
        if new_id:
            return adopt(session, blob, new_id[0].id), restored
        found: PackageBlob = session.execute(_FIND_BLOB,
                                             {"sha256": staged.sha256}).scalars().one()
        return found, restored

    def _get_or_create_blob(self, session: Session, staged: Staged,
                            now: datetime) -> PackageBlob:
        """The digest's row: inserted (new bytes, the usual case: one statement), or the
        existing one if the unique digest already holds it."""
        created = insert_unless_taken(session, PackageBlob(
            sha256=staged.sha256, sha512=staged.sha512, size=staged.size, created_at=now))
        if created is not None:
            return created
        blob: PackageBlob = session.execute(_FIND_BLOB,
                                            {"sha256": staged.sha256}).scalars().one()
        return blob

    def _discard_blob(self, sha256: str) -> None:
        """Compensating delete: remove bytes we stored unless a live version uses them
        (the rule and its lock are ``blob_refs``'s)."""
        releases = BlobReleases(self.blobs)
        try:
            with session_scope(self.engine, write=True) as session:
                releases.release_unreferenced(session, [sha256])
        except Exception:  # the orphan sweep will find it; never mask the original error
            releases.undo()
            log.exception("could not discard blob %s after a failed publish", sha256)
            return
        releases.finish()


class _NativeRules:
    """A native version is one artifact, published once: an existing version number (live
    or unpublished) is taken; every dependency must be satisfiable in this registry."""

    def __init__(self, service: PublishService, metadata: PublishMetadata) -> None:
        self.service = service
        self.metadata = metadata

    def check(self, session: Session, package: Package | None, plan: FilePlan) -> None:
        self.service._check_not_taken(session, package, plan.name, plan.version)
        self.service._check_dependencies(session, self.metadata)

    def version_row(self, session: Session, package: Package, plan: FilePlan,
                    principal: Principal, now: datetime) -> PackageVersion:
        assert package.id is not None
        fields = plan.fields
        row = insert_unless_taken(session, PackageVersion(
            package_id=package.id, version=plan.version, sort_key=plan.sort_key,
            description=fields.description, license=fields.license,
            keywords=fields.keywords, repository=fields.repository,
            dependencies=fields.dependencies, dev_dependencies=fields.dev_dependencies,
            published_at=now, published_by_id=principal.user_id, published_by=principal.name,
        ))
        if row is None:  # the unique (package, version) decided a race against us
            existing = driver_sql.first(session, _VERSION_STATE, {
                "package_id": package.id, "version": plan.version})
            raise _taken(plan.name.full, plan.version,
                         existing is not None and existing.unpublished_at is not None)
        return row

    def file_taken(self, session: Session, row: PackageVersion, plan: FilePlan) -> DomainError:
        return VersionExists(plan.name.full, plan.version)  # a new version has no files


@dataclass(frozen=True)
class _NewPackage:
    """A package this publish created, and whether its name has pending publishers and
    policies to settle."""

    package: Package
    publishers: bool
    policies: bool


@dataclass(frozen=True)
class _Decided:
    """What the publish's own transaction verified while it authorized (see
    ``_get_or_create_package``)."""

    verified: VerifiedEvidence | None


@dataclass
class _BlobWrite:
    """Whether this publish stored the bytes (so a failure must try to remove them)."""

    created: bool


def _advisories(session: Session, package: Package, version: str) -> list[dict[str, Any]]:
    """``advisories_for_version``, after one indexed statement that usually ends it: that
    query only considers advisories naming the package (``advisory_packages``), and most
    packages are named by none."""
    osv_name = osv_ecosystem(package.ecosystem)
    named = driver_sql.first(session, _NAMED_BY_ADVISORY, {
        "ecosystem": osv_name, "name": normalize_name(osv_name, package.name)})
    if named is None:
        return []
    return advisories_for_version(session, package.ecosystem, package.name, version)


def _taken(name: str, version: str, unpublished: bool) -> DomainError:
    if unpublished:
        return VersionBurned(name, version)
    return VersionExists(name, version)


# Statements built once (issue 13: building one cost more than running it).
_VERSIONS = PackageVersion.__table__  # type: ignore[attr-defined]
_VERSION_STATE = sa_select(_VERSIONS.c.unpublished_at).where(
    _VERSIONS.c.package_id == bindparam("package_id"),
    _VERSIONS.c.version == bindparam("version"))
_AVAILABLE_VERSIONS = sa_select(_VERSIONS.c.version).where(
    _VERSIONS.c.package_id == bindparam("package_id"), _VERSIONS.c.unpublished_at.is_(None),
    _VERSIONS.c.quarantined_at.is_(None))
_FIND_BLOB = select(PackageBlob).where(PackageBlob.sha256 == bindparam("sha256"))
_ADD_OWNER = insert(PackageOwner.__table__)  # type: ignore[attr-defined]
_ADVISORY_NAMES = AdvisoryPackage.__table__  # type: ignore[attr-defined]
_NAMED_BY_ADVISORY = sa_select(_ADVISORY_NAMES.c.advisory_id).where(
    _ADVISORY_NAMES.c.ecosystem == bindparam("ecosystem"),
    _ADVISORY_NAMES.c.name == bindparam("name")).limit(1)
_PUBLISHERS = TrustedPublisher.__table__  # type: ignore[attr-defined]
_POLICIES = PendingPolicy.__table__  # type: ignore[attr-defined]
#: Whether a new package has pending publishers or policies to settle: the rows
#: ``publisher_rules.claim_pending`` and ``pending_policies.claim`` would read.
_PENDING_CLAIMS = sa_select(
    exists().where(and_(_PUBLISHERS.c.package_name == bindparam("name"),
                        _PUBLISHERS.c.pending_expires_at.is_not(None))),
    exists().where(_POLICIES.c.package_name == bindparam("name")))
#: PostgreSQL: the digest's lock (``blob_refs.lock_digest``'s), then its row unless the unique
#: digest holds one already (no row back then), in one statement.
_LOCK_AND_INSERT_BLOB = (
    "WITH locked AS MATERIALIZED (SELECT pg_advisory_xact_lock(%(key)s)) "
    "INSERT INTO package_blobs (sha256, sha512, size, created_at) "
    "SELECT %(sha256)s, %(sha512)s, %(size)s, %(created_at)s FROM locked "
    "ON CONFLICT DO NOTHING RETURNING id")
_PACKAGE_TABLE = Package.__table__  # type: ignore[attr-defined]
_PACKAGE_COLUMNS = tuple(c.name for c in _PACKAGE_TABLE.columns if c.name != "id")
_OWNER_ID = bindparam("owner_id", type_=Integer)
_NEW_PACKAGE = (pg_insert(_PACKAGE_TABLE)
                .values({column: bindparam(column) for column in _PACKAGE_COLUMNS})
                .on_conflict_do_nothing().returning(_PACKAGE_TABLE.c.id).cte("created"))
_NEW_OWNER = insert(PackageOwner.__table__).from_select(  # type: ignore[attr-defined]
    ["package_id", "user_id"],
    sa_select(_NEW_PACKAGE.c.id, _OWNER_ID).where(_OWNER_ID.is_not(None))).cte("owned")
#: PostgreSQL: the new package (its id, or NULL when the name is taken), its owner (none for
#: a NULL ``owner_id``) and ``_PENDING_CLAIMS``'s answers, in one statement.
_CREATE_PACKAGE = sa_select(
    sa_select(_NEW_PACKAGE.c.id).scalar_subquery().label("id"),
    exists().where(and_(_PUBLISHERS.c.package_name == bindparam("name"),
                        _PUBLISHERS.c.pending_expires_at.is_not(None))).label("publishers"),
    exists().where(_POLICIES.c.package_name == bindparam("name")).label("policies"),
).add_cte(_NEW_OWNER)


def _artifact_filename(name: PackageName, version: str, uploaded: str) -> str:
    """Files are stored under a name the registry chooses; the client's name is only a hint
    for the extension, so no path trick in a filename can reach storage or headers."""
    base = name.base
    suffix = ""
    for candidate in (".tar.gz", ".tgz", ".zip", ".whl", ".tar", ".jar", ".gem", ".crate"):
        if uploaded.lower().endswith(candidate):
            suffix = candidate
            break
    return f"{base}-{version}{suffix or '.bin'}"
