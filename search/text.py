"""Text analysis shared by every backend, so ranking means the same thing everywhere.

    from search.text import normalize_query, query_tokens, name_words

    normalize_query("  Requests ")   # "requests"
    query_tokens("@acme/http-cl")    # ["acme", "http", "cl"]
    name_words("@acme/http_client")  # ["acme", "http", "client"]

User input is cleaned here, in Python, before any backend sees it: queries become plain
lower-case alphanumeric words, so characters that mean something to a query syntax
(Elasticsearch's ``+-&|!(){}[]^"~*?:\\/``, FTS5's ``"*^``) can never reach a parser. Backends
only use term, match and prefix queries, which never parse syntax either.
"""

from __future__ import annotations

import re
import unicodedata

MAX_QUERY_CHARS = 256  # longer input is cut; no package name is this long
MAX_QUERY_TOKENS = 16  # more words than this add nothing but cost
MAX_GRAM = 20  # longest indexed word prefix (edge n-gram max_gram on both backends)
MAX_NAME_PREFIX = 128  # longest indexed whole-name prefix on the embedded backend

_WORD = re.compile(r"[^\W_]+")  # runs of letters/digits; splits on - _ . / @ and spaces


def normalize_query(raw: str) -> str:
    """NFKC-fold, cut to `MAX_QUERY_CHARS`, strip and lower-case the user's input."""
    return unicodedata.normalize("NFKC", raw)[:MAX_QUERY_CHARS].strip().lower()


def name_query(normalized: str) -> str:
    """The input as compared with whole names: drop characters no name contains.

    Letters, digits, whitespace and ``-_.@/`` stay, so ``req*`` or ``"requests"`` still
    start or equal a name, while a space keeps "foo bar" from equalling ``foobar``.
    """
    return "".join(ch for ch in normalized if ch.isalnum() or ch.isspace() or ch in "-_.@/")


def words(text: str) -> list[str]:
    """Lower-case alphanumeric words of any text (names, descriptions, keywords)."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower())


def query_tokens(normalized: str) -> list[str]:
    """The distinct words of a normalized query, at most `MAX_QUERY_TOKENS`, in order."""
    seen: dict[str, None] = {}
    for word in words(normalized):
        seen.setdefault(word, None)
        if len(seen) == MAX_QUERY_TOKENS:
            break
    return list(seen)


def gram(token: str) -> str:
    """A query token as matched against name word prefixes (cut to `MAX_GRAM`)."""
    return token[:MAX_GRAM]


def name_words(name: str) -> list[str]:
    """The words of a package name: ``@acme/http_client`` → acme, http, client."""
    return words(name)


def name_variants(name: str) -> list[str]:
    """Lower-cased forms a typed prefix may start: the name, without its ``@``, bare.

    ``@acme/foo`` gives ``@acme/foo``, ``acme/foo`` and ``foo``, so typing ``foo`` or
    ``acme`` finds it in the "starts with" tier and typing ``@acme/`` lists the scope.
    """
    lowered = name.lower()
    variants = [lowered]
    if lowered.startswith("@"):
        variants.append(lowered[1:])
        variants.append(lowered.partition("/")[2])
    return list(dict.fromkeys(variants))


def edge_grams(word: str, longest: int) -> list[str]:
    """Every prefix of ``word`` from one character up to ``longest`` characters."""
    return [word[:i] for i in range(1, min(len(word), longest) + 1)]
