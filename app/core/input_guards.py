"""Rules every piece of untrusted input passes before anything parses or stores it (issue 9).

    check_json_bytes(body, max_depth=64)      # raises MalformedInput / NulCharacter
    reject_nul("artifact filename", name)     # raises NulCharacter
    after: int = Query(default=0, ge=0, le=DB_INT_MAX)

Why each rule exists:

- **Nesting depth** is checked on the raw bytes, before ``json.loads`` (whose C scanner
  recurses once per level and raises ``RecursionError``, a 500) or pydantic ever see them. The
  scan removes string literals with one regular expression (the same tokenisation a JSON
  parser does, so a bracket inside a string never counts), keeps only the brackets, and takes
  the running depth with C-level iterators: linear time, no recursion, ~20 ms per MiB.
- **NUL characters** are refused in every text a client can send: raw ``0x00`` bytes and the
  JSON escape ``\\u0000`` (but not ``\\\\u0000``, an escaped backslash). PostgreSQL cannot
  store NUL in ``text`` (a 500) and SQLite stores it silently (names that render differently
  from what they compare as). Raw NUL bytes also betray UTF-16/32 bodies, which ``json.loads``
  would otherwise accept and which the bracket scan could not read.
- **Integers** that reach the database are bounded by the narrowest column they meet:
  PostgreSQL ``INTEGER`` (``DB_INT_MAX``). Routes declare the bound in their parameters, so the
  OpenAPI document shows it and a larger value is a 422 before any query runs.
"""

from __future__ import annotations

import re
from itertools import accumulate
from typing import Annotated

from fastapi import Path

from app.core.errors import MalformedInput, NulCharacter

# PostgreSQL INTEGER (ids, counts); SQLite's 64-bit integers are wider, so this bounds both.
DB_INT_MAX = 2**31 - 1
# A row id in a path (``/tokens/{token_id}``): 1 to DB_INT_MAX, else 422 before any query.
RowId = Annotated[int, Path(ge=1, le=DB_INT_MAX)]

# A JSON string literal: a quote, then runs of ordinary characters or backslash escapes, up to
# the closing quote or the end of the text. Possessive quantifiers and the end-of-text
# alternative make it linear on any input (no backtracking over escaped quotes).
_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\\?\Z)', re.DOTALL)
# ``\u0000`` preceded by an even number of backslashes (zero included): an escaped NUL.
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*+\\u0000")
# UTF-16 surrogate escapes (``\ud800``): a hint, then every escape read left to right.
_SURROGATE_HINT = re.compile(rb"\\u[dD][89a-fA-F]")
_ESCAPE = re.compile(rb"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)
# Keep only brackets: openers become +1, closers -1 (0xff read as a signed byte).
_BRACKETS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth(data: bytes) -> int:
    """The deepest nesting of arrays and objects in ``data`` (0 for a scalar).

    Never raises and never recurses; on text that is not JSON the answer is a best effort
    (the parser that runs afterwards refuses such text anyway).
    """
    marks = _STRING.sub(b"", data).translate(_BRACKETS, _NOT_BRACKETS)
    if not marks:
        return 0
    # The running sum of +1/-1 is the depth after each bracket; accumulate runs in C.
    return max(accumulate(memoryview(marks).cast("b")))


def check_json_bytes(data: bytes, *, max_depth: int, what: str = "the request body") -> None:
    """Refuse a body (or form field) that holds NUL or nests deeper than ``max_depth``.

    Raises ``NulCharacter`` (400 ``nul_character``) or ``MalformedInput`` (400
    ``malformed_input``: too deep, or an unpaired surrogate escape such as ``\\ud800``).
    Valid JSON within the limits passes untouched.
    """
    if b"\x00" in data or _NUL_ESCAPE.search(data) is not None:
        raise NulCharacter(f"{what} contains a NUL character", field=what)
    if _has_lone_surrogate(data):
        raise MalformedInput(f"{what} holds an unpaired UTF-16 surrogate escape", field=what)
    depth = json_depth(data)
    if depth > max_depth:
        raise MalformedInput(f"{what} nests JSON deeper than {max_depth} levels",
                             max_depth=max_depth)


def _has_lone_surrogate(data: bytes) -> bool:
    """True when a ``\\uD800``-``\\uDFFF`` escape lacks its other half: ``json.loads`` turns it
    into a str that no UTF-8 encoder (database driver, response) accepts, a 500."""
    if _SURROGATE_HINT.search(data) is None:
        return False
    high_ends_at = -1  # where the escape pairing the last high surrogate must start
    for match in _ESCAPE.finditer(data):
        hex_digits = match.group(1)
        point = int(hex_digits, 16) if hex_digits else -1
        if high_ends_at >= 0:
            if 0xDC00 <= point <= 0xDFFF and match.start() == high_ends_at:
                high_ends_at = -1
                continue
            return True
        if 0xD800 <= point <= 0xDBFF:
            high_ends_at = match.end()
        elif 0xDC00 <= point <= 0xDFFF:
            return True
    return high_ends_at >= 0


def reject_nul(what: str, text: str | None) -> None:
    """Raise ``NulCharacter`` when ``text`` holds a NUL character."""
    if text is not None and "\x00" in text:
        raise NulCharacter(f"{what} contains a NUL character", field=what)


def query_has_nul(query_string: bytes) -> bool:
    """True when a raw query string decodes to text holding NUL (``%00``)."""
    return b"%00" in query_string or b"\x00" in query_string
