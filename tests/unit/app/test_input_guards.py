"""The byte-level JSON checks of app.core.input_guards, held against what json.loads decodes."""

from __future__ import annotations

import contextlib
import json

import pytest

from app.core.errors import MalformedInput, NulCharacter
from app.core.input_guards import check_json_bytes, json_depth


@pytest.mark.parametrize(("text", "depth"), [
    (b'"scalar"', 0),
    (b"[]", 1),
    (b'{"a": [1, {"b": "[[[[{{{"}]}', 3),
    (b'["\\"[[[", "\\\\"]', 1),               # escaped quotes and backslashes inside strings
    (b"[" * 65 + b"]" * 65, 65),
    (b'"unterminated [[[', 0),              # a string up to the end of the text
])
def test_depth_counts_brackets_outside_strings(text: bytes, depth: int) -> None:
    assert json_depth(text) == depth


@pytest.mark.parametrize("text", [
    b'"\\u0000"', b'"a\\\\\\u0000"', b'{"k\\u0000": 1}', b'"\x00"', "[1]".encode("utf-16"),
])
def test_nul_is_refused_raw_escaped_or_hidden_in_utf16(text: bytes) -> None:
    with pytest.raises(NulCharacter):
        check_json_bytes(text, max_depth=64)


def test_an_escaped_backslash_before_u0000_is_text() -> None:
    text = b'"a\\\\u0000"'
    assert "\x00" not in json.loads(text)
    check_json_bytes(text, max_depth=64)


@pytest.mark.parametrize(("text", "lone"), [
    (b'"\\ud800"', True), (b'"a\\udc00b"', True), (b'"\\ude00\\ud83d"', True),
    (b'"\\\\ud83d\\ude00"', True),            # the "high half" is text: the low one is alone
    (b'["\\ud83d", "\\ude00"]', True),
    (b'"\\ud83d\\ude00"', False), (b'"\\uD83D\\uDE00"', False), (b'"\\\\ud800"', False),
])
def test_unpaired_surrogate_escapes_match_what_json_decodes(text: bytes, lone: bool) -> None:
    decoded = json.dumps(json.loads(text), ensure_ascii=False)
    assert any(0xD800 <= ord(c) <= 0xDFFF for c in decoded) == lone
    if lone:
        with pytest.raises(MalformedInput):
            check_json_bytes(text, max_depth=64)
    else:
        check_json_bytes(text, max_depth=64)


def test_depth_over_the_limit_is_malformed_input() -> None:
    check_json_bytes(b"[" * 64 + b"]" * 64, max_depth=64)
    with pytest.raises(MalformedInput) as raised:
        check_json_bytes(b"[" * 65 + b"]" * 65, max_depth=64)
    assert raised.value.extra["max_depth"] == 64


@pytest.mark.parametrize("text", [
    b'"\\"' * 500_000,                      # escaped quotes: no backtracking blow-up
    b"\\" * 1_000_000 + b"u0000x",
    b'"' + b"\\ud83d\\ude00" * 80_000 + b'"',
    b"[]" * 500_000,
])
def test_hostile_megabytes_are_scanned(text: bytes) -> None:
    # Linear scans take ~0.1 s each; a quadratic regression would run into pytest-timeout.
    with contextlib.suppress(MalformedInput):
        check_json_bytes(text, max_depth=64)
