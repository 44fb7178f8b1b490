"""The advisory database of the registry: the security team's lifecycle, import/export, queries.

    service = AdvisoryService(engine, clock)
    draft = service.create(principal, {"summary": "RCE", "affected": [...]})   # x_VOUCH-2026-0001
    service.edit(principal, draft.id, {"details": "..."})
    service.publish(principal, draft.id)
    service.withdraw(principal, draft.id, "duplicate of GHSA-...")
    service.import_values(principal, [osv_json, ...])      # idempotent by id + modified
    service.query_batch([Query("PyPI", "requests", "2.31.0")])   # OSV matching, in memory
    advisories_for_version(session, "generic", "left-pad", "1.0.0")   # for version documents

Who may do what: the security team (``is_security``) and administrators, with a token that
allows the ``advisory`` action, change advisories; everyone else gets ``Forbidden`` (403).
Every change is an audit event (``advisory:create|edit|publish|withdraw|import``) written in
the same transaction. Drafts are visible to the security team only.

Failures: ``AdvisoryNotFound`` (404), ``Forbidden`` (403), library errors mapped by
``app.advisories.errors.from_library`` (``invalid_advisory`` 400, ``advisory_withdrawn`` /
``advisory_already_published`` 409), ``AdvisoryNotPublished`` (409: withdrawing a draft).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from advisories import lifecycle
from advisories.ecosystems import LOCAL_OSV_ECOSYSTEM, normalize_name, osv_ecosystem, to_osv_name
from advisories.errors import AdvisoryError
from advisories.ids import next_local_id
from advisories.io import dumps_array, import_records
from advisories.matching import Query
from advisories.models import Advisory, parse_timestamp
from advisories.ranges import is_affected
from app.accounts.service import Principal
from app.advisories import store
from app.advisories.errors import AdvisoryNotFound, AdvisoryNotPublished, from_library
from app.advisories.index import IndexCache
from app.advisories.osv import batch_response, query_response
from app.advisories.schemas import AdvisoryPublic, ImportReport, ImportResult
from app.core.clock import Clock
from app.core.db import session_scope
from app.core.errors import Forbidden, MalformedInput, NotAuthenticated
from app.core.models import Advisory as AdvisoryRow
from app.core.models import AdvisoryPackage
from app.core.records import audit, enqueue


def is_security(principal: Principal | None) -> bool:
    """The security role (or an administrator), with a token that allows the ``advisory``
    action and is not limited to some packages: advisories are registry-wide, and a token
    scoped to one package must not speak for every package (issue 9)."""
    return (principal is not None and (principal.is_security or principal.is_admin)
            and principal.can("advisory") and not principal.package_patterns)


def require_security(principal: Principal | None) -> None:
    if principal is None:
        raise NotAuthenticated("this needs a security team token (Authorization: Bearer ...)")
    if not is_security(principal):
        raise Forbidden("advisories are managed by the security team (role security, or an "
                        "administrator, with a token allowing the advisory action)")


@dataclass(frozen=True)
class ListFilters:
    package: str | None = None
    ecosystem: str | None = None
    severity: str | None = None
    state: str | None = None
    withdrawn: bool | None = None
    limit: int = 100
    offset: int = 0


class AdvisoryService:
    """``on_change(package)`` is called after commit for every Vouch package whose version
    documents an advisory change may alter (to drop cached documents)."""

    def __init__(self, engine: Engine, clock: Clock,
                 on_change: Callable[[str], None] | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self.index = IndexCache(engine)
        self.on_change = on_change

    def _changed(self, names: set[str]) -> None:
        if self.on_change is not None:
            for name in sorted(names):
                self.on_change(name)

    # -- the security team's lifecycle --------------------------------------------------------
    def create(self, principal: Principal, fields: object) -> AdvisoryPublic:
        """A new draft with the next local id ``x_VOUCH-<year>-NNNN``."""
        require_security(principal)
        if not isinstance(fields, dict):
            raise MalformedInput("an advisory is a JSON object of OSV fields")
        now = self.clock.now()
        with session_scope(self.engine, write=True) as session:
            revision = store.bump_generation(session)  # also serialises id allocation
            prefix = f"x_VOUCH-{now.year}-"
            existing = session.exec(select(AdvisoryRow.id).where(
                col(AdvisoryRow.id).startswith(prefix, autoescape=True))).all()
            try:
                record = lifecycle.new_advisory(next_local_id(existing, year=now.year),
                                                fields, now=now)
            except AdvisoryError as err:
                raise from_library(err) from err
            row = store.save(session, record, state="draft", revision=revision,
                             actor=principal.name)
            audit(session, at=now, actor=principal.name, action="advisory:create",
                  advisory_id=record.id, summary=record.summary)
            result = AdvisoryPublic.from_row(row)
        return result

    def edit(self, principal: Principal, advisory_id: str, changes: object) -> AdvisoryPublic:
        """Replace top-level OSV fields (``null`` removes one); drafts and published records."""
        require_security(principal)
        if not isinstance(changes, dict) or not changes:
            raise MalformedInput("an edit is a non-empty JSON object of OSV fields")
        return self._change(principal, advisory_id, "advisory:edit",
                            lambda r, now: lifecycle.edit(r, changes, now=now),
                            fields=sorted(changes))

    def publish(self, principal: Principal, advisory_id: str) -> AdvisoryPublic:
        require_security(principal)
        return self._change(principal, advisory_id, "advisory:publish",
                            lambda r, now: lifecycle.publish(r, now=now))

    def withdraw(self, principal: Principal, advisory_id: str, reason: str) -> AdvisoryPublic:
        """Withdraw a published record; it stays retrievable by id and never matches again."""
        require_security(principal)
        return self._change(principal, advisory_id, "advisory:withdraw",
                            lambda r, now: lifecycle.withdraw(r, reason, now=now),
                            reason=reason.strip())

    def _change(self, principal: Principal, advisory_id: str, action: str,
                apply: Any, **details: Any) -> AdvisoryPublic:
        now = self.clock.now()
        with session_scope(self.engine, write=True) as session:
            revision = store.bump_generation(session)
            row = store.get_row(session, advisory_id)
            if row is None:
                raise AdvisoryNotFound(advisory_id)
            if action == "advisory:withdraw" and row.state == "draft":
                raise AdvisoryNotPublished(advisory_id, "withdraw")
            draft = row.state == "draft" and action != "advisory:publish"
            before = store.load(row)
            try:
                record: Advisory = apply(before, now)
            except AdvisoryError as err:
                raise from_library(err) from err
            row = store.save(session, record, state=store.state_of(record, draft=draft),
                             revision=revision)
            audit(session, at=now, actor=principal.name, action=action,
                  advisory_id=advisory_id, modified=record.modified, **details)
            reindex(session, local_packages(before) | local_packages(record), now)
            result = AdvisoryPublic.from_row(row)
        self._changed(local_packages(before) | local_packages(record))
        return result

    # -- bulk import / export ----------------------------------------------------------------
    def import_values(self, principal: Principal, values: Sequence[object],
                      source: str = "<input>") -> ImportReport:
        """Import decoded OSV records. A record is written when its id is new or its
        ``modified`` is later than the stored one; invalid records are reported with their
        reasons and never stop the others."""
        require_security(principal)
        ids = [v["id"] for v in values if isinstance(v, dict) and isinstance(v.get("id"), str)]
        with session_scope(self.engine) as session:
            stored = store.stored_modified(session, ids)
        # Schema validation is the slow part: done before taking the write lock.
        outcomes = list(import_records(values, stored, source))
        report = ImportReport()
        touched: set[str] = set()
        now = self.clock.now()
        with session_scope(self.engine, write=True) as session:
            revision = store.bump_generation(session)
            # Another import may have committed meanwhile: decide again under the lock.
            fresh = store.stored_modified(session, [o.record.id for o in outcomes
                                                    if o.record is not None])
            writes: dict[str, tuple[Advisory, str]] = {}
            for outcome in outcomes:
                status, record = outcome.status, outcome.record
                if record is not None and status != "unchanged":
                    if record.id in fresh and not _later(record.modified, fresh[record.id]):
                        status = "unchanged"
                    else:
                        writes[record.id] = (record, store.state_of(record))
                        fresh[record.id] = record.modified
                        touched |= local_packages(record)
                        audit(session, at=now, actor=principal.name, action="advisory:import",
                              advisory_id=record.id, status=status, modified=record.modified,
                              source=outcome.source)
                setattr(report, status, getattr(report, status) + 1)
                report.results.append(ImportResult(
                    source=outcome.source, status=status, id=outcome.advisory_id,
                    reasons=list(outcome.reasons)))
            store.save_many(session, list(writes.values()), revision=revision,
                            actor=f"import:{principal.name}")
            reindex(session, touched, now)
        self._changed(touched)
        return report

    def export(self, principal: Principal | None, *, include_drafts: bool = False) -> str:
        """Every public record (drafts too for the security team, on request) as one JSON
        array sorted by id, as ``advisories.io.dumps_array`` writes it."""
        if include_drafts:
            require_security(principal)
        states = store.STATES if include_drafts else store.PUBLIC_STATES
        with session_scope(self.engine) as session:
            rows = session.exec(select(AdvisoryRow).where(col(AdvisoryRow.state).in_(states)))
            return dumps_array(store.load(row) for row in rows)

    # -- reading -----------------------------------------------------------------------------
    def detail(self, principal: Principal | None, advisory_id: str) -> AdvisoryPublic:
        with session_scope(self.engine) as session:
            row = store.get_row(session, advisory_id)
            if row is None or (row.state == "draft" and not is_security(principal)):
                raise AdvisoryNotFound(advisory_id)
            return AdvisoryPublic.from_row(row)

    def list_advisories(self, principal: Principal | None,
                        filters: ListFilters) -> list[AdvisoryPublic]:
        """Advisories newest first; drafts only for the security team."""
        query = select(AdvisoryRow)
        if not is_security(principal):
            query = query.where(col(AdvisoryRow.state).in_(store.PUBLIC_STATES))
        if filters.state:
            query = query.where(AdvisoryRow.state == filters.state)
        if filters.severity:
            query = query.where(AdvisoryRow.severity == filters.severity.lower())
        if filters.withdrawn is not None:
            query = query.where(col(AdvisoryRow.withdrawn).is_not(None) if filters.withdrawn
                                else col(AdvisoryRow.withdrawn).is_(None))
        if filters.package or filters.ecosystem:
            packages = select(AdvisoryPackage.advisory_id)
            if filters.ecosystem:
                packages = packages.where(
                    AdvisoryPackage.ecosystem == to_osv_name(filters.ecosystem))
            if filters.package:
                names = ({normalize_name(to_osv_name(filters.ecosystem), filters.package)}
                         if filters.ecosystem else
                         {filters.package, normalize_name("PyPI", filters.package)})
                packages = packages.where(col(AdvisoryPackage.name).in_(names))
            query = query.where(col(AdvisoryRow.id).in_(packages))
        query = (query.order_by(col(AdvisoryRow.modified).desc(), col(AdvisoryRow.id))
                 .offset(filters.offset).limit(filters.limit))
        with session_scope(self.engine) as session:
            return [AdvisoryPublic.from_row(row, with_record=False)
                    for row in session.exec(query)]

    # -- OSV queries (in memory) -------------------------------------------------------------
    def query_batch(self, queries: Sequence[Query]) -> list[list[Advisory]]:
        """Non-withdrawn published advisories matching each query, in input order."""
        return self.index.run(lambda index: index.query_batch(queries))

    def osv_query(self, query: Query | None) -> dict[str, Any]:
        """``POST /v1/query``'s answer: full matching records, or ``{}`` (also for a query
        that can match nothing, ``None`` from ``osv.parse_query``)."""
        if query is None:
            return {}
        return query_response(self.query_batch([query])[0])

    def osv_querybatch(self, queries: Sequence[Query | None]) -> dict[str, Any]:
        """``POST /v1/querybatch``'s answer: ids and ``modified`` per query, in input order
        (an empty list where a query can match nothing)."""
        answers = iter(self.query_batch([q for q in queries if q is not None]))
        return batch_response([[] if q is None else next(answers) for q in queries])

    def get_public(self, advisory_id: str) -> Advisory:
        """A published or withdrawn record by id; ``AdvisoryNotFound`` otherwise (naming the
        records that carry ``advisory_id`` as an alias, as OSV.dev does)."""
        def find(index: Any) -> Advisory | list[str]:
            record: Advisory | None = index.get(advisory_id)
            if record is not None:
                return record
            return [r.id for r in index.records() if advisory_id in (r.aliases or [])]

        found = self.index.run(find)
        if isinstance(found, Advisory):
            return found
        if found:
            raise AdvisoryNotFound(advisory_id, "Vulnerability not found, but the following "
                                   f"aliases were: {' '.join(found)}")
        raise AdvisoryNotFound(advisory_id)


def advisories_for_version(session: Session, ecosystem: str, name: str,
                           version: str) -> list[dict[str, Any]]:
    """Published, non-withdrawn advisories affecting ``name@version`` of a Vouch package:
    ``[{id, summary, severity, malicious, aliases, modified, published}]`` sorted by id.
    Reads the database (one indexed query), so it is current in every process."""
    osv_name = osv_ecosystem(ecosystem)
    key = normalize_name(osv_name, name)
    rows = session.exec(
        select(AdvisoryRow).where(
            AdvisoryRow.state == "published",
            col(AdvisoryRow.id).in_(select(AdvisoryPackage.advisory_id).where(
                AdvisoryPackage.ecosystem == osv_name, AdvisoryPackage.name == key)))
        .order_by(col(AdvisoryRow.id))).all()
    found = []
    for row in rows:
        record = store.load(row)
        entries = [e for e in record.affected or [] if e.package is not None
                   and e.package.ecosystem == osv_name
                   and normalize_name(osv_name, e.package.name) == key]
        if any(is_affected(entry, version, osv_name) for entry in entries):
            found.append({"id": record.id, "summary": record.summary or "",
                          "severity": row.severity, "malicious": row.malicious,
                          "aliases": list(record.aliases or []), "modified": record.modified,
                          "published": record.published, "withdrawn": None})
    return found


def reindex(session: Session, names: set[str], now: datetime) -> None:
    """Search documents carry an advisories flag: refresh them through the outbox."""
    for name in sorted(names):
        enqueue(session, at=now, kind="search.reindex", package=name)


def local_packages(record: Advisory) -> set[str]:
    """Names of this registry's ``generic`` packages (OSV ecosystem ``Vouch``) in ``record``."""
    return {entry.package.name for entry in record.affected or []
            if entry.package is not None and entry.package.ecosystem == LOCAL_OSV_ECOSYSTEM}


def _later(candidate: str, previous: str) -> bool:
    try:
        return parse_timestamp(candidate) > parse_timestamp(previous)
    except ValueError:  # a malformed stored value: the valid incoming record wins
        return True
