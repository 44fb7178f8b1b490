"""The ``versions`` library's errors are mapped to domain errors in one place
(``app.publishing.versioning``), with the caller's text and the codes the API documents."""

from __future__ import annotations

import pytest

from app.core.errors import InvalidVersionError, MalformedInput
from app.publishing.versioning import (
    InvalidRangeError,
    from_library,
    parse_range,
    parse_range_strict,
    parse_version,
)
from versions.errors import InvalidRange, InvalidVersion, VersionsError


def test_an_invalid_version_is_400_invalid_version_naming_the_text() -> None:
    with pytest.raises(InvalidVersionError) as caught:
        parse_version("1.2")
    assert (caught.value.code, caught.value.status) == ("invalid_version", 400)
    assert caught.value.extra == {"version": "1.2"}
    assert caught.value.detail.startswith("'1.2' is not a SemVer 2.0.0 version: ")


def test_an_overlong_version_is_refused_before_the_library_sees_it() -> None:
    with pytest.raises(InvalidVersionError) as caught:
        parse_version("1" * 300)
    assert caught.value.extra == {"version": "1" * 64}


def test_an_invalid_range_is_422_invalid_range_naming_the_text() -> None:
    with pytest.raises(InvalidRangeError) as caught:
        parse_range_strict(">>1")
    assert (caught.value.code, caught.value.status) == ("invalid_range", 422)
    assert caught.value.extra == {"range": ">>1"}
    assert parse_range(">>1") is None
    assert parse_range("^1.2.0") is not None


def test_from_library_maps_every_versions_error() -> None:
    assert isinstance(from_library(InvalidVersion("x")), InvalidVersionError)
    assert isinstance(from_library(InvalidRange("x")), InvalidRangeError)
    other = from_library(VersionsError("no solution"))
    assert isinstance(other, MalformedInput)
    assert other.detail == "no solution"


def test_no_other_app_module_catches_a_versions_error() -> None:
    """The mapping has one home: only versioning.py imports the library's error classes
    (other modules may use its value types, such as ``Version``)."""
    import ast
    from pathlib import Path

    import versions.errors

    error_names = {name for name, value in vars(versions.errors).items()
                   if isinstance(value, type) and issubclass(value, Exception)}
    root = Path(__file__).resolve().parents[3] / "app"
    importers = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.ImportFrom) and node.module
                    and node.module.split(".")[0] == "versions"
                    and (node.module == "versions.errors"
                         or {a.name for a in node.names} & error_names)):
                importers.add(str(path.relative_to(root)))
    assert importers == {"publishing/versioning.py"}
