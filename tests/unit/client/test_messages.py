"""Client messages in the user's words: problem details with validation errors, form fields
renamed to flags, vouch.toml's allowed keys, and output printed literally."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from client import output
from client.api import problem_message
from client.errors import ClientError, UsageError
from client.flags import PUBLISH_FLAGS, name_flags, rename_fields
from client.project import Project


def test_validation_errors_are_listed_without_their_location_prefix() -> None:
    problem = {"code": "validation_error", "detail": "the request is invalid",
               "errors": [{"loc": ["query", "limit"], "msg": "limit must be at most 1000"},
                          {"loc": ["body"], "msg": "Field required"}]}
    text = problem_message(422, problem, "")
    assert text == ("422 validation_error: the request is invalid\n"
                    "  limit: limit must be at most 1000\n  Field required")


def test_an_invalid_token_problem_says_how_to_fix_it() -> None:
    text = problem_message(401, {"code": "invalid_token", "detail": "invalid token"}, "")
    assert "unset VOUCH_TOKEN" in text and "vouch admin create-token" in text


@pytest.mark.parametrize("detail, expected", [
    ("send a Sigstore bundle (sigstore_bundle) or a detached GPG signature (gpg_signature)",
     "send a Sigstore bundle (--bundle) or a detached GPG signature (--gpg-signature)"),
    ("the metadata field contains a NUL character", "--metadata contains a NUL character"),
    ("gpg_signature_extra is not a field", "gpg_signature_extra is not a field"),
])
def test_form_fields_become_flags(detail: str, expected: str) -> None:
    assert rename_fields(detail, PUBLISH_FLAGS) == expected


def test_name_flags_adds_the_flag_of_a_problem_field_and_the_signing_steps() -> None:
    with pytest.raises(ClientError) as caught, name_flags(PUBLISH_FLAGS):
        raise ClientError("400 malformed_input: bad bytes", code="malformed_input",
                          problem={"field": "gpg_signature"})
    assert caught.value.message.endswith("(--gpg-signature)")
    with pytest.raises(ClientError) as required, name_flags(PUBLISH_FLAGS):
        raise ClientError("403 signature_required: x", code="signature_required")
    assert "vouch gpg-key add" in required.value.message


@pytest.mark.parametrize("manifest, named", [
    ('[deps]\na = "1"\n', "[deps]"), ('version = 1\n', "version"),
    ('[dependencies]\n[dependencies.x]\n', "[dependencies] maps"),
])
def test_vouch_toml_allows_only_dependencies(tmp_path: Path, manifest: str, named: str) -> None:
    (tmp_path / "vouch.toml").write_text(manifest)
    with pytest.raises(UsageError) as caught:
        Project.load(tmp_path)
    assert named in caught.value.message and caught.value.exit_code == 2


def test_saved_manifest_round_trips_awkward_names(tmp_path: Path) -> None:
    deps = {"@acme/widgets": "~2.1", 'odd"name': ">=1 <2", "ünï": "*"}
    Project(tmp_path, deps).save()
    assert Project.load(tmp_path).dependencies == deps


def test_consoles_print_square_brackets_literally(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "declare [dependencies] there: ^(0|[a-f0-9]{40})$ [bold]x[/] :smile:"
    for console in (output.out, output.err):
        buffer = io.StringIO()
        monkeypatch.setattr(console, "file", buffer)
        console.print(text)
        assert buffer.getvalue() == text + "\n"
