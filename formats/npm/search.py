"""``npm search``'s answer (``GET /-/v1/search?text=&size=&from=``), built from search hits.

    search_document(hits, total=..., now=..., package_url=lambda name: ...)

npm reads ``objects[].package`` (``name``, ``version``, ``description``, ``keywords``,
``date``, ``links``, ``publisher``, ``maintainers``) and ``score``/``searchScore``; ``total``
and ``time`` sit beside them. ``hits`` are ``(name, version, description, keywords, date,
maintainers, score)`` tuples so the library needs nothing from the search backend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from formats.npm.packument import npm_time


class SearchEntry(NamedTuple):
    name: str
    version: str | None
    description: str
    keywords: Sequence[str]
    date: datetime | None
    maintainers: Sequence[str]
    score: float


def search_document(hits: Sequence[SearchEntry], *, total: int, now: datetime,
                    package_url: Callable[[str], str]) -> dict[str, Any]:
    objects = []
    for hit in hits:
        people = [{"username": m} for m in hit.maintainers]
        package: dict[str, Any] = {
            "name": hit.name, "version": hit.version or "", "description": hit.description,
            "keywords": list(hit.keywords), "links": {"npm": package_url(hit.name)},
            "publisher": people[0] if people else {"username": ""}, "maintainers": people,
        }
        if hit.date is not None:
            package["date"] = npm_time(hit.date)
        objects.append({"package": package,
                        "score": {"final": hit.score, "detail": {
                            "quality": 1.0, "popularity": 1.0, "maintenance": 1.0}},
                        "searchScore": hit.score})
    return {"objects": objects, "total": total, "time": now.strftime("%a %b %d %Y %H:%M:%S GMT")}
