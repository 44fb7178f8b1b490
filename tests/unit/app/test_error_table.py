"""The README's error table is the one table: every problem+json ``code`` the registry can
answer has a row (code, status, meaning), and every row names a code that exists.

The codes are gathered from the code itself: every ``DomainError`` subclass with a fixed
``code`` (and its ``status``), the ``signing`` and ``advisories`` library errors that reach the
caller with their own code (``SignatureRejected``, ``advisories.errors.LibraryError``), the
codes the trust service passes to ``SignatureRejected`` directly, and the HTTP edge's own
(``validation_error``, ``internal_error``, the plain HTTP codes). Adding a code without a README
row fails here, with the row to paste.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections import defaultdict
from pathlib import Path
from typing import TypeVar

import advisories.errors
import signing.errors
from app.core import problems
from app.core.errors import DomainError

ROOT = Path(__file__).resolve().parents[3]
T = TypeVar("T")
VARIABLE_CODE = {"SignatureRejected", "LibraryError"}  # their code comes from a library


def _import_app() -> None:
    """Every module of ``app`` and of the format libraries, whose errors reach callers with
    their own codes (some are imported lazily by the app, only when a request needs them)."""
    for path in sorted([*(ROOT / "app").rglob("*.py"), *(ROOT / "formats").rglob("*.py")]):
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        importlib.import_module(".".join(parts))


def _subclasses(cls: type[T]) -> list[type[T]]:
    found: list[type[T]] = []
    stack = [cls]
    while stack:
        for sub in stack.pop().__subclasses__():
            found.append(sub)
            stack.append(sub)
    return found


def codes_in_code() -> dict[str, set[int]]:
    """Every code the registry answers with, and the statuses it answers it with."""
    _import_app()
    codes: dict[str, set[int]] = defaultdict(set)
    domain_errors: list[type[DomainError]] = [DomainError, *_subclasses(DomainError)]
    for domain in domain_errors:
        if domain.__name__ in VARIABLE_CODE or domain.__module__.startswith("tests"):
            continue
        codes[domain.code].add(domain.status)
    for signing_error in _subclasses(signing.errors.VerificationError):
        codes[signing_error.code].add(400)
    for cls in _subclasses(advisories.errors.AdvisoryError):
        codes[cls.code].add(409 if cls.code in {"advisory_withdrawn",
                                                "advisory_already_published"} else 400)
    for path in (ROOT / "app").rglob("*.py"):  # SignatureRejected("code", ...) literals
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id == "SignatureRejected" and node.args
                    and isinstance(node.args[0], ast.Constant)):
                codes[str(node.args[0].value)].add(400)
    for status, code in problems._HTTP_CODES.items():
        codes[code].add(status)
    codes["validation_error"].add(422)
    codes["internal_error"].add(500)
    codes.pop("error", None)  # DomainError's placeholder, never raised as such
    return dict(codes)


def readme_rows() -> dict[str, set[int]]:
    """``| `code` | 400 / 401 | meaning |`` rows of the README's "Error codes" section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Error codes", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, set[int]] = {}
    for match in re.finditer(r"^\| `([a-z0-9_]+)` \| ([0-9 /]+) \| (.+) \|$", section, re.M):
        rows[match[1]] = {int(s) for s in match[2].split("/")}
    return rows


def test_every_code_has_a_readme_row_with_its_statuses() -> None:
    codes, rows = codes_in_code(), readme_rows()
    missing = [f"| `{code}` | {' / '.join(map(str, sorted(statuses)))} | ... |"
               for code, statuses in sorted(codes.items())
               if code not in rows or not statuses <= rows[code]]
    assert missing == [], "add or fix these README rows:\n" + "\n".join(missing)


def test_every_readme_row_names_a_code_that_exists() -> None:
    assert sorted(set(readme_rows()) - set(codes_in_code())) == []
