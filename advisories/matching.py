"""An in-memory advisory index answering "which advisories affect name@version?".

Example::

    from advisories.matching import AdvisoryIndex, Query
    index = AdvisoryIndex()
    for record in records:
        index.add(record)                       # parses every range once, here
    index.query("PyPI", "Requests", "2.31.0")   # -> [Advisory, ...] sorted by id
    index.query("pypi", "requests", None)       # every advisory naming the package
    index.query_batch([Query("npm", "lodash", "4.17.20"), ...])   # one list per query
    index.get("GHSA-...")                       # by id, withdrawn records included

Ecosystems are accepted under their Vouch names (``pypi``, ``npm``, ``generic``) or OSV names
(``PyPI``, ``npm``, ``Vouch``, and any other OSV ecosystem: those match by explicit versions
lists only). Names are normalised per ecosystem (PEP 503 for PyPI; exact for npm).
Withdrawn records are kept (``get`` returns them) but never match a query.
Adding a record whose id is already indexed replaces it (last add wins: the caller, who owns
storage, decides which ``modified`` is newer). Not thread-safe for concurrent writers; build
it, then share it read-only, or rebuild and swap.

Range problems met while compiling (unparseable event versions and the like) are kept per
record in :meth:`AdvisoryIndex.problems`, for reporting.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from advisories.ecosystems import normalize_name, to_osv_name
from advisories.models import Advisory
from advisories.ranges import CompiledAffected, RangeProblem, compile_affected


@dataclass(frozen=True)
class Query:
    """One question: ``version=None`` asks for every advisory naming the package."""

    ecosystem: str
    name: str
    version: str | None = None


class AdvisoryIndex:
    """Records by id, plus compiled ``affected[]`` entries by (OSV ecosystem, normalised name)."""

    def __init__(self) -> None:
        self._records: dict[str, Advisory] = {}
        self._by_package: dict[tuple[str, str], list[tuple[str, CompiledAffected]]] = defaultdict(
            list
        )
        self._keys: dict[str, set[tuple[str, str]]] = {}
        self._problems: dict[str, tuple[RangeProblem, ...]] = {}

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, advisory_id: object) -> bool:
        return advisory_id in self._records

    def add(self, record: Advisory) -> None:
        """Index ``record`` (replacing any record with the same id). Never raises on bad
        ranges: they are skipped and listed by :meth:`problems`."""
        self.remove(record.id)
        self._records[record.id] = record
        keys: set[tuple[str, str]] = set()
        problems: list[RangeProblem] = []
        if not record.is_withdrawn:
            for entry in record.affected or []:
                if entry.package is None:
                    continue
                ecosystem = entry.package.ecosystem
                key = (ecosystem, normalize_name(ecosystem, entry.package.name))
                compiled = compile_affected(entry, ecosystem)
                problems.extend(compiled.problems)
                self._by_package[key].append((record.id, compiled))
                keys.add(key)
        self._keys[record.id] = keys
        self._problems[record.id] = tuple(problems)

    def add_all(self, records: Iterable[Advisory]) -> None:
        for record in records:
            self.add(record)

    def remove(self, advisory_id: str) -> bool:
        """Drop a record; returns whether it was indexed."""
        if advisory_id not in self._records:
            return False
        del self._records[advisory_id]
        for key in self._keys.pop(advisory_id, set()):
            remaining = [item for item in self._by_package[key] if item[0] != advisory_id]
            if remaining:
                self._by_package[key] = remaining
            else:
                del self._by_package[key]
        self._problems.pop(advisory_id, None)
        return True

    def get(self, advisory_id: str) -> Advisory | None:
        """The record with this id, withdrawn or not."""
        return self._records.get(advisory_id)

    def records(self) -> list[Advisory]:
        """Every indexed record, sorted by id."""
        return [self._records[key] for key in sorted(self._records)]

    def problems(self, advisory_id: str) -> tuple[RangeProblem, ...]:
        """Ranges of this record that were skipped while indexing, and why."""
        return self._problems.get(advisory_id, ())

    def query(self, ecosystem: str, name: str, version: str | None = None) -> list[Advisory]:
        """Non-withdrawn advisories affecting ``name@version`` (or naming ``name`` at all when
        ``version`` is None), sorted by id. Unknown packages and unparseable versions give
        ``[]`` (an unparseable version can still match an explicit versions list)."""
        osv_name = to_osv_name(ecosystem)
        candidates = self._by_package.get((osv_name, normalize_name(osv_name, name)), ())
        ids = {
            advisory_id
            for advisory_id, compiled in candidates
            if version is None or compiled.matches(version)
        }
        return [self._records[advisory_id] for advisory_id in sorted(ids)]

    def query_batch(self, queries: Sequence[Query]) -> list[list[Advisory]]:
        """:meth:`query` for each query, results in the same order."""
        return [self.query(q.ecosystem, q.name, q.version) for q in queries]
