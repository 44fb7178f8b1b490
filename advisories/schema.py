"""Validation of raw OSV JSON against the OSV JSON schema shipped in ``advisories/data``.

Example::

    from advisories.schema import validate_osv, schema_problems
    schema_problems({"id": "FOO-1", "modified": "2024-01-01T00:00:00Z"})
    # ["id: 'FOO-1' does not match '^(x_|(ASB-A|...)-)'"]
    validate_osv(record_json)      # raises InvalidAdvisory(code "invalid_advisory") with reasons

The schema is ``ossf/osv-schema`` ``main:validation/schema.json`` (sha256 7a511902...533ba8,
draft 2020-12): the first upstream schema that accepts ``x_`` local-database ids. One local
extension is applied in memory, never to the file: the ecosystem ``Vouch`` (Vouch's ``generic``
packages, see :mod:`advisories.ecosystems`) is accepted next to the upstream list.
``format`` keywords are annotations (the JSON Schema default), as in upstream's own validator.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from advisories.ecosystems import LOCAL_OSV_ECOSYSTEM
from advisories.errors import InvalidAdvisory

if TYPE_CHECKING:
    # jsonschema (about 3 MiB) loads with the first validation (issue 13: idle memory).
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

SCHEMA_FILE = "osv-schema.json"
_MAX_MESSAGE = 300


def load_schema() -> dict[str, Any]:
    """The upstream OSV schema exactly as shipped (no local extension)."""
    text = resources.files("advisories.data").joinpath(SCHEMA_FILE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> Draft202012Validator:
    # Built once per process and never mutated afterwards: safe to share.
    from jsonschema import Draft202012Validator

    schema = load_schema()
    suffix = schema["$defs"]["ecosystemWithSuffix"]
    suffix["pattern"] = suffix["pattern"].replace("^(", f"^({LOCAL_OSV_ECOSYSTEM}|", 1)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_problems(data: object) -> list[str]:
    """Every schema violation of ``data``, one line each, sorted by JSON path.

    Each line is ``<path>: <message>`` where path is slash-separated (``affected/0/ranges/0``)
    or ``<record>`` for the top level. For ``oneOf`` failures (an event with two keys, a GIT
    event that is not a full commit hash) the most specific reason is appended after
    ``because``. Never raises.
    """
    errors = sorted(_validator().iter_errors(data), key=lambda e: [str(p) for p in e.path])
    return [_describe(error) for error in errors]


def validate_osv(data: object) -> None:
    """Raise :class:`InvalidAdvisory` (with all reasons) unless ``data`` is a valid OSV record."""
    problems = schema_problems(data)
    if problems:
        advisory_id = data.get("id") if isinstance(data, dict) else None
        raise InvalidAdvisory(problems, advisory_id if isinstance(advisory_id, str) else None)


def _describe(error: ValidationError) -> str:
    path = "/".join(str(part) for part in error.absolute_path) or "<record>"
    message = _shorten(error.message)
    cause = _specific_cause(error)
    if cause is not None:
        message += f" because {_shorten(cause.message)}"
    return f"{path}: {message}"


def _specific_cause(error: ValidationError) -> ValidationError | None:
    """For oneOf/anyOf: the deepest sub-error that is not merely 'X is a required property'
    (those come from the branches the value obviously was not meant to match)."""
    if not error.context:
        return None
    candidates = [sub for sub in error.context if sub.validator != "required"]
    if not candidates:
        return None
    return max(candidates, key=lambda sub: len(sub.absolute_path))


def _shorten(message: str) -> str:
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 1] + "…"
