"""A deterministic, realistic corpus of package documents and query sets, for tests and benchmarks.

    docs = make_synthetic_documents(1_000, seed=7)      # Zipf-like downloads, scoped names
    suggest_queries(docs, 200, seed=1)                  # 1-8 character prefixes of names
    search_queries(docs, 200, seed=2)                   # names, name words, description words

The same seed gives the same documents and queries. Nothing here raises; it touches no index.
(``tests/unit/search/test_backends_agree.py`` and ``bench/bench_search*.py`` share it.)
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from search.documents import PackageDocument
from search.text import name_words

# Words seen in real package names; families share prefixes (py*, django-*, types-*, ...).
_WORD_TEXT = (
    "http client server api json yaml toml xml csv sql orm db async io net web socket rest "
    "graphql grpc proto auth oauth jwt token crypto hash cache redis mongo postgres mysql "
    "sqlite queue task worker job cron log logger trace metrics monitor test mock fixture "
    "lint format type types schema valid parse parser render template html css markdown "
    "doc docs cli shell term color progress config env settings path file fs zip tar image "
    "pdf audio video math stats plot chart data frame table array numeric ml model train "
    "tensor vision text nlp token lang geo time date clock uuid rand secure sign verify "
    "cloud aws gcp azure s3 docker kube deploy build pack bundle plugin ext core util utils "
    "tools kit lib helper helpers base common fast lite mini micro simple smart super open "
    "request requests response router route flask django fastapi pytest tox sphinx jupyter"
)
WORDS = tuple(_WORD_TEXT.split())
FAMILIES = ("py", "django-", "flask-", "pytest-", "types-", "aws-", "sphinx-", "jupyter-", "")
SCOPES = ("acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "tyrell")
_FILLER_TEXT = "a an the for and with of to fast small simple library tool toolkit helpers"
FILLER = tuple(_FILLER_TEXT.split())


def _name(rng: random.Random) -> str:
    family = rng.choice(FAMILIES)
    parts = [rng.choice(WORDS) for _ in range(rng.choice((1, 1, 2, 2, 2, 3)))]
    sep = rng.choice(("-", "-", "-", "_", "."))
    name = family + sep.join(parts)
    if rng.random() < 0.1:
        name += str(rng.randint(2, 9))
    if rng.random() < 0.15:
        name = f"@{rng.choice(SCOPES)}/{name}"
    return name


def make_synthetic_documents(n: int, seed: int = 7) -> list[PackageDocument]:
    """``n`` deterministic, realistic package documents with Zipf-like downloads."""
    rng = random.Random(seed)  # noqa: S311 (a reproducible corpus, no secret)
    ranks = list(range(1, n + 1))
    rng.shuffle(ranks)
    names: set[str] = set()
    start = datetime(2024, 1, 1, tzinfo=UTC)
    docs = []
    for i in range(n):
        name = _name(rng)
        while name.lower() in names:
            name = f"{name}-{rng.randint(0, 99_999)}"
        names.add(name.lower())
        words = [rng.choice(WORDS + FILLER * 3) for _ in range(rng.randint(4, 16))]
        total = int(5e8 / ranks[i] ** 1.1 * rng.uniform(0.5, 1.5))
        docs.append(
            PackageDocument(
                name=name,
                description=" ".join(words).capitalize() + ".",
                keywords=tuple(rng.sample(WORDS, rng.randint(0, 5))),
                maintainers=(f"user{rng.randint(1, n // 10 + 1)}",),
                latest_version=f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}",
                downloads_total=total,
                downloads_recent=total // rng.randint(5, 50),
                deprecated=rng.random() < 0.02,
                quarantined=rng.random() < 0.002,
                has_advisories=rng.random() < 0.03,
                verified_publisher=rng.random() < 0.3,
                updated_at=start + timedelta(minutes=rng.randint(0, 900_000)),
            )
        )
    return docs


def suggest_queries(docs: Sequence[PackageDocument], count: int, seed: int) -> list[str]:
    """Prefixes of 1-8 characters of real names; half from the most downloaded packages."""
    rng = random.Random(seed)  # noqa: S311 (a reproducible corpus, no secret)
    popular = sorted(docs, key=lambda d: -d.downloads_total)[:2_000]
    out = []
    for i in range(count):
        doc = rng.choice(popular if i % 2 else docs)
        source = doc.name if rng.random() < 0.8 else rng.choice(name_words(doc.name))
        out.append(source[: rng.randint(1, 8)])
    return out


def search_queries(docs: Sequence[PackageDocument], count: int, seed: int) -> list[str]:
    """Exact names, one or two name words, and description words."""
    rng = random.Random(seed)  # noqa: S311 (a reproducible corpus, no secret)
    out = []
    for i in range(count):
        doc = rng.choice(docs)
        kind = i % 4
        if kind == 0:
            out.append(doc.name)
        elif kind == 1:
            out.append(rng.choice(name_words(doc.name)))
        elif kind == 2:
            out.append(" ".join(rng.sample(WORDS, 2)))
        else:
            out.append(rng.choice(doc.description.rstrip(".").split()))
    return out
