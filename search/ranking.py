"""The ranking rules, written once as ordered bands that each backend turns into queries.

    from search.ranking import SUGGEST_BANDS, Band

    [(b.tier, b.demoted) for b in SUGGEST_BANDS]
    # [("exact", False), ("prefix", False), ("prefix", True), ("word", False), ("word", True)]

A hit belongs to the first band whose rule it satisfies; bands never overlap, and results are
listed band by band. Inside a band, suggest orders by total downloads and search by text
relevance x log(2 + total downloads): tantivy's ``weight_by_field`` multiplies by
log2(2 + downloads) and Elasticsearch's ``field_value_factor`` ``log2p`` by log10(2 + downloads),
which differ by a constant factor and so order hits the same way. (log(2 + x) rather than
log(1 + x) keeps packages with zero downloads above a score of zero.)

The exact name is one band, whatever its status: someone who typed the whole name wants that
package, and its ``deprecated``/``quarantined`` flags travel with the hit. Every other tier is
split into healthy then demoted (deprecated or quarantined) packages.
"""

from __future__ import annotations

import dataclasses

EXACT = "exact"
PREFIX = "prefix"  # suggest: the name (or its bare or scope-less form) starts with the input
WORD = "word"  # suggest: every typed word starts a word of the name
NAME = "name"  # search: every query word starts a word of the name
TEXT = "text"  # search: every query word is in the name, description or keywords


@dataclasses.dataclass(frozen=True, slots=True)
class Band:
    tier: str
    demoted: bool | None  # None: both (the exact band)


def _bands(*tiers: str) -> tuple[Band, ...]:
    out = [Band(EXACT, None)]
    for tier in tiers:
        out += [Band(tier, False), Band(tier, True)]
    return tuple(out)


SUGGEST_BANDS = _bands(PREFIX, WORD)
SEARCH_BANDS = _bands(NAME, TEXT)
