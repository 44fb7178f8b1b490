"""Severity levels (low | moderate | high | critical) from CVSS vectors or GHSA labels.

Example::

    >>> from advisories.severity import score_vector, level_for_score
    >>> scored = score_vector("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")
    >>> scored.base_score, scored.level
    (9.8, 'critical')
    >>> level_for_score(5.3)
    'moderate'

    assess(record)   # -> Assessment(level="high", score=7.5, source="CVSS_V3", vector=...) | None

Vectors are scored with the ``cvss`` library (Red Hat; CVSS 2, 3.0, 3.1, 4.0). Levels use the
CVSS qualitative scale as GitHub shows it: 0.1-3.9 low, 4.0-6.9 moderate (CVSS "medium"),
7.0-8.9 high, 9.0-10.0 critical; a base score of 0.0 has no level.

``assess`` picks, in order: the newest CVSS version present (V4, then V3, then V2) at the top
level, else the highest such score over ``affected[].severity``; if no vector scores, the GHSA
label ``database_specific.severity`` (LOW / MODERATE / HIGH / CRITICAL; MEDIUM accepted), then an
``Ubuntu`` severity. Vectors that fail to score are skipped, never fatal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cvss import CVSS2, CVSS3, CVSS4
from cvss.exceptions import CVSSError

from advisories.errors import InvalidSeverity
from advisories.models import Advisory, Severity

Level = Literal["low", "moderate", "high", "critical"]
LEVELS: tuple[Level, ...] = ("low", "moderate", "high", "critical")
Source = Literal["CVSS_V4", "CVSS_V3", "CVSS_V2", "database_specific", "Ubuntu"]

_LABELS: dict[str, Level] = {
    "low": "low",
    "moderate": "moderate",
    "medium": "moderate",
    "high": "high",
    "critical": "critical",
    "negligible": "low",
}
_PREFERENCE: tuple[Source, ...] = ("CVSS_V4", "CVSS_V3", "CVSS_V2")


@dataclass(frozen=True)
class ScoredVector:
    vector: str
    cvss_version: str  # "2.0", "3.0", "3.1", "4.0"
    base_score: float
    level: Level | None


@dataclass(frozen=True)
class Assessment:
    level: Level
    score: float | None
    source: Source
    vector: str | None


def level_rank(level: Level) -> int:
    """0 for low ... 3 for critical, for ``--fail-on`` style thresholds."""
    return LEVELS.index(level)


def at_least(level: Level | None, threshold: Level) -> bool:
    """Whether ``level`` reaches ``threshold`` (no level never does)."""
    return level is not None and level_rank(level) >= level_rank(threshold)


def level_for_score(score: float) -> Level | None:
    """Map a CVSS base score (0.0-10.0) to a level; 0.0 has none. ValueError outside 0-10."""
    if not 0.0 <= score <= 10.0:
        raise ValueError(f"CVSS score out of range: {score}")
    if score == 0.0:
        return None
    if score < 4.0:
        return "low"
    if score < 7.0:
        return "moderate"
    if score < 9.0:
        return "high"
    return "critical"


def level_for_label(label: str) -> Level | None:
    """A qualitative label (GHSA ``MODERATE``, CVSS ``Medium``, Ubuntu ``negligible``) as a
    level; None for labels with no level (``none``, unknown words)."""
    return _LABELS.get(label.strip().lower())


def score_vector(vector: str) -> ScoredVector:
    """Score a CVSS v2, v3.0, v3.1 or v4.0 vector; raises InvalidSeverity if it is malformed."""
    try:
        if vector.startswith("CVSS:4.0/"):
            v4 = CVSS4(vector)
            score, version = float(v4.base_score), "4.0"
        elif vector.startswith(("CVSS:3.0/", "CVSS:3.1/")):
            score, version = float(CVSS3(vector).scores()[0]), vector[5:8]
        elif vector.startswith("CVSS:"):
            raise InvalidSeverity(vector, "unsupported CVSS version")
        else:
            score, version = float(CVSS2(vector).scores()[0]), "2.0"
    except CVSSError as err:
        raise InvalidSeverity(vector, str(err)) from err
    return ScoredVector(vector, version, score, level_for_score(score))


def assess(record: Advisory) -> Assessment | None:
    """The record's severity level, or None when it carries nothing usable. Never raises."""
    top = _best_cvss(record.severity or [])
    if top is not None:
        return top
    per_package = [_best_cvss(entry.severity or []) for entry in record.affected or []]
    scored = [item for item in per_package if item is not None]
    if scored:
        return max(scored, key=lambda item: item.score or 0.0)
    label = (record.database_specific or {}).get("severity")
    if isinstance(label, str) and (level := level_for_label(label)) is not None:
        return Assessment(level, None, "database_specific", None)
    for entry in record.severity or []:
        if entry.type == "Ubuntu" and (level := level_for_label(entry.score)) is not None:
            return Assessment(level, None, "Ubuntu", None)
    return None


def _best_cvss(severities: list[Severity]) -> Assessment | None:
    for source in _PREFERENCE:
        for entry in severities:
            if entry.type != source:
                continue
            try:
                scored = score_vector(entry.score)
            except InvalidSeverity:
                continue
            if scored.level is not None:
                return Assessment(scored.level, scored.base_score, source, entry.score)
    return None
