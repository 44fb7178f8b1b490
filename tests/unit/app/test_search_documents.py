"""Search documents built in batches (issue 13) are exactly the per-package documents.

The outbox worker re-indexes a whole claimed batch with ``search_documents`` (a fixed number
of queries per chunk of names). These tests build packages in every state a document
reflects (owners, a signed or unsigned latest version, deprecated, pre-release only,
quarantined, every version unpublished, an advisory that affects the latest version or only
an older one, downloads) and check the batch against the documented rules field by field,
against ``package_search_document`` one name at a time, and across chunk boundaries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.accounts.service import Principal
from app.advisories.service import AdvisoryService
from app.core.clock import ManualClock
from app.core.db import make_engine, session_scope
from app.core.models import (
    Package,
    PackageBlob,
    PackageFile,
    PackageOwner,
    PackageVersion,
    Provenance,
    User,
)
from app.publishing.versioning import parse_version
from app.search import documents
from app.search.documents import (
    all_search_documents,
    download_totals,
    package_search_document,
    search_documents,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


class Builder:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.users: dict[str, int] = {}
        self.serial = 0

    def user(self, name: str) -> int:
        if name not in self.users:
            row = User(name=name, created_at=T0)
            self.session.add(row)
            self.session.flush()
            assert row.id is not None
            self.users[name] = row.id
        return self.users[name]

    def package(self, name: str, *, owners: tuple[str, ...] = (), status: str = "active",
                ecosystem: str = "generic") -> Package:
        package = Package(name=name, ecosystem=ecosystem, created_at=T0, status=status)
        self.session.add(package)
        self.session.flush()
        for owner in owners:
            self.session.add(PackageOwner(package_id=package.id, user_id=self.user(owner)))
        self.session.flush()
        return package

    def version(self, package: Package, version: str, *, by: str = "alice",
                signed: bool = False, **fields: Any) -> PackageVersion:
        self.serial += 1
        row = PackageVersion(
            package_id=package.id, version=version,
            sort_key=parse_version(version).sort_key(),
            description=fields.pop("description", f"{package.name} {version}"),
            keywords=fields.pop("keywords", [package.name.split("-")[0]]),
            published_at=T0 + timedelta(minutes=self.serial), published_by=by,
            published_by_id=self.user(by), **fields)
        self.session.add(row)
        self.session.flush()
        digest = hashlib.sha256(f"{package.name}@{version}".encode()).hexdigest()
        blob = PackageBlob(sha256=digest, sha512="0" * 128, size=1, created_at=T0)
        self.session.add(blob)
        self.session.flush()
        file = PackageFile(version_id=row.id, blob_id=blob.id, filename=f"{version}.tgz")
        self.session.add(file)
        self.session.flush()
        if signed:
            self.session.add(Provenance(file_id=file.id, method="gpg", raw="sig",
                                        identity={"fingerprint": "F" * 40},
                                        verified_at=T0))
            self.session.flush()
        return row


def _advisory(engine: Engine, name: str, introduced: str, fixed: str) -> None:
    """A published advisory about ``name`` (Vouch ecosystem) for [introduced, fixed)."""
    service = AdvisoryService(engine, ManualClock(T0))
    security = Principal(name="sec", user_id=None, is_security=True)
    report = service.import_values(security, [{
        "schema_version": "1.6.0", "id": f"GHSA-test-{name}", "modified": "2026-01-01T00:00:00Z",
        "published": "2026-01-01T00:00:00Z", "summary": f"bug in {name}",
        "affected": [{"package": {"ecosystem": "Vouch", "name": name}, "ranges": [
            {"type": "SEMVER", "events": [{"introduced": introduced}, {"fixed": fixed}]}]}]}])
    assert report.results[0].status in ("created", "new", "imported", "updated"), report


@pytest.fixture
def registry_rows(engine: Engine) -> None:
    with session_scope(engine, write=True) as session:
        b = Builder(session)
        plain = b.package("plain-pad", owners=("alice", "bob"))
        b.version(plain, "1.0.0", downloads=5)
        b.version(plain, "1.1.0", signed=True, downloads=7, description="the latest")
        b.version(plain, "2.0.0-rc.1", downloads=1)  # a pre-release is not "latest"
        dep = b.package("deprecated-pad", owners=("bob",))
        b.version(dep, "1.0.0", signed=True)
        b.version(dep, "1.1.0", deprecated="use 1.0")  # deprecated: 1.0.0 is latest
        pre = b.package("pre-pad", owners=("carol",))
        b.version(pre, "0.1.0-beta.1", by="carol")
        gone = b.package("gone-pad", owners=("alice",))
        b.version(gone, "1.0.0", unpublished_at=T0)
        quarantined = b.package("evil-pad", owners=("mallory",), status="quarantined")
        b.version(quarantined, "1.0.0", by="mallory", quarantined_at=T0)
        b.version(quarantined, "0.9.0", by="mallory")
        vulnerable = b.package("vuln-pad", owners=("alice",))
        b.version(vulnerable, "1.2.0", downloads=3)
        fixed = b.package("fixed-pad", owners=("alice",))
        b.version(fixed, "1.0.0")
        b.version(fixed, "1.5.0", by="dave")  # published by a non-owner: listed too
        other = b.package("pypi-pad", ecosystem="pypi", owners=("erin",))
        b.version(other, "1.0.0", by="erin")
    _advisory(engine, "vuln-pad", "1.0.0", "2.0.0")  # affects the latest
    _advisory(engine, "fixed-pad", "0", "1.1.0")  # affects only the older version


NAMES = ["plain-pad", "deprecated-pad", "pre-pad", "gone-pad", "evil-pad", "vuln-pad",
         "fixed-pad", "no-such-pad", "pypi-pad"]
REFS = [("generic", n) for n in NAMES] + [("pypi", "pypi-pad"), ("npm", "plain-pad")]


def test_batch_documents_follow_the_rules(engine: Engine, registry_rows: None) -> None:
    with session_scope(engine) as session:
        found = search_documents(session, REFS)
    assert sorted(found) == sorted(REFS)
    docs = {name: doc for (eco, name), doc in found.items() if eco == "generic"}
    plain = docs["plain-pad"]
    assert plain is not None
    assert (plain.latest_version, plain.description, plain.downloads_total,
            plain.downloads_recent, plain.verified_publisher, plain.has_advisories,
            plain.deprecated, plain.quarantined) == ("1.1.0", "the latest", 13, 7, True,
                                                      False, False, False)
    assert plain.maintainers == ("alice", "bob")
    dep = docs["deprecated-pad"]
    assert dep is not None and dep.latest_version == "1.0.0" and dep.verified_publisher
    pre = docs["pre-pad"]
    assert pre is not None and pre.latest_version == "0.1.0-beta.1"
    assert not pre.verified_publisher and pre.maintainers == ("carol",)
    assert docs["gone-pad"] is None and docs["no-such-pad"] is None
    evil = docs["evil-pad"]
    assert evil is not None and evil.quarantined and evil.latest_version == "0.9.0"
    vuln, fixed = docs["vuln-pad"], docs["fixed-pad"]
    assert vuln is not None and vuln.has_advisories and vuln.downloads_total == 3
    assert fixed is not None and not fixed.has_advisories
    assert fixed.maintainers == ("alice", "dave")
    assert docs["pypi-pad"] is None and found[("npm", "plain-pad")] is None  # other formats
    python = found[("pypi", "pypi-pad")]  # every format is searchable, keyed by its format
    assert python is not None and (python.ecosystem, python.ident, python.maintainers) == (
        "pypi", "pypi:pypi-pad", ("erin",))
    assert plain.ecosystem == "generic" and plain.ident == "plain-pad"


def test_batch_equals_one_at_a_time_across_chunks(engine: Engine, registry_rows: None,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    with session_scope(engine) as session:
        single = {(eco, name): package_search_document(session, name, eco)
                  for eco, name in REFS}
        monkeypatch.setattr(documents, "CHUNK", 2)  # several chunks, one of them partial
        assert search_documents(session, REFS) == single
        assert search_documents(session, []) == {}
        everything = list(all_search_documents(session))
        totals = download_totals(session, NAMES)
    # Every package of every ecosystem with something to find, once, in id order.
    assert [d.name for d in everything] == ["plain-pad", "deprecated-pad", "pre-pad",
                                            "evil-pad", "vuln-pad", "fixed-pad", "pypi-pad"]
    assert {(d.ecosystem, d.name): d for d in everything} == {
        ref: d for ref, d in single.items() if d is not None}
    assert totals["plain-pad"] == (13, 7) and totals["vuln-pad"] == (3, 3)
    assert "pypi:pypi-pad" in totals and "pypi-pad" not in totals
    assert totals["gone-pad"] == (0, 0) and "no-such-pad" not in totals
