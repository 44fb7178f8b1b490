"""Property-based fuzzing of every operation in the OpenAPI document (issue 9), with
schemathesis against the real server over HTTP, as an administrator with the security role.

For each operation, requests from the document's examples, valid requests (positive) and
requests that break the schema (negative) are generated, a bounded number per operation,
derandomised so a run is reproducible. Every
response must: not be a 5xx; have a status code, media type and body the document declares
for that operation (errors are problem+json, declared on every router). Findings are
collected across operations and reported together.

    VOUCH_FUZZ_EXAMPLES=200 pytest tests/functional/test_openapi_fuzz.py    # a longer run
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import Actors

EXAMPLES = int(os.environ.get("VOUCH_FUZZ_EXAMPLES", "25"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture
def settings_overrides(github_jwks_path: Path,
                       sigstore_trusted_root_path: Path) -> dict[str, object]:
    # Everything local: the OIDC exchange reads its keys from a file (no network). Unsigned
    # publishes are accepted so that generated uploads reach the write path and the response
    # document (signing has its own tests; here the subject is input handling).
    return {"oidc_jwks_file": str(github_jwks_path),
            "sigstore_trust": str(sigstore_trusted_root_path),
            "default_signature_policy": "none"}


def _strategy(operation: Any, mode: str) -> Any:
    """Requests built from the document's examples, or generated (positive / negative)."""
    if mode == "examples":
        examples = operation.get_strategies_from_examples()
        return st.one_of(examples) if examples else st.nothing()
    return operation.as_strategy(generation_mode=GenerationMode(mode))


def _fuzz(operation: Any, mode: str, base_url: str, token: Callable[[], str]) -> list[str]:
    """Run one operation in one mode; returns the distinct failures found.

    Each example gets a fresh token: an example may revoke the token it was sent with."""
    found: dict[str, str] = {}

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    @given(case=_strategy(operation, mode))
    def run(case: Any) -> None:
        try:
            case.call_and_validate(base_url=base_url, checks=CHECKS,
                                   headers={"Authorization": f"Bearer {token()}"})
        except (Failure, FailureGroup) as err:
            text = str(err).strip()
            found.setdefault(text.splitlines()[0] if text else repr(err), text)

    # Unsatisfiable: no request of this kind exists (no examples, or nothing negative to send).
    with contextlib.suppress(Unsatisfiable):
        run()
    return list(found.values())


def test_every_operation_answers_what_the_document_says(actors: Actors) -> None:
    actors.user("root", admin=True, security=True)
    base_url = actors.server.url
    schema = schemathesis.openapi.from_url(base_url + "/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in ("examples", "positive", "negative"):
            for failure in _fuzz(operation, mode, base_url, lambda: actors.token("root")):
                failures.append(f"{operation.method.upper()} {operation.path} "
                                f"[{mode}]\n{failure}")
    assert operations >= 30, operations
    assert not failures, "\n\n".join(failures)


def test_the_document_is_well_formed_for_clients(actors: Actors) -> None:
    document = actors.client().get("/openapi.json").json()
    operations = [op for path in document["paths"].values() for op in path.values()]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids)), "duplicate operationId"
    for op in operations:  # every error is documented as problem+json, nothing else
        assert "422" not in op["responses"], op["operationId"]
        for status in ("4XX", "5XX"):
            assert list(op["responses"][status]["content"]) == ["application/problem+json"]
