"""client/local.py opens the configured registry for `vouch serve`, `vouch admin`, `vouch worker`
and `vouch search --reindex`: it refuses a data directory with no database (unless asked to
create one), and it is the one place that does so (no command module borrows another's)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import inspect

from client.errors import UsageError
from client.local import existing_settings, load_settings, migrated_engine

CLIENT = Path(__file__).resolve().parents[3] / "client"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("VOUCH_DATABASE_URL", "VOUCH_DEFAULT_SIGNATURE_POLICY"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "var"
    monkeypatch.setenv("VOUCH_DATA_DIR", str(path))
    return path


def test_a_data_dir_without_a_database_is_refused(data_dir: Path) -> None:
    with pytest.raises(UsageError) as refused:
        existing_settings()
    message = str(refused.value)
    assert str(data_dir / "vouch.db") in message
    assert "VOUCH_DATA_DIR" in message and "VOUCH_DATABASE_URL" in message
    assert "vouch admin migrate" in message
    with pytest.raises(UsageError):
        migrated_engine()
    assert not data_dir.exists()  # nothing created


def test_create_makes_and_migrates_the_database(data_dir: Path) -> None:
    engine = migrated_engine(create=True)
    try:
        assert "packages" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
    assert (data_dir / "vouch.db").is_file()
    assert existing_settings().data_dir == data_dir  # now it exists


def test_a_database_url_is_taken_as_given(data_dir: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOUCH_DATABASE_URL", "postgresql://u@127.0.0.1:1/none")
    assert existing_settings().database_url == "postgresql://u@127.0.0.1:1/none"


def test_invalid_settings_are_a_usage_error(data_dir: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOUCH_DEFAULT_SIGNATURE_POLICY", "[bold]sometimes[/]")
    with pytest.raises(UsageError, match="invalid configuration"):
        load_settings()


def _client_imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("client.")}


def test_only_the_entry_point_imports_the_admin_commands() -> None:
    """client/ops.py once borrowed client/admin.py's helper; the shared code is client/local.py
    and command modules do not import each other's commands."""
    importers = sorted(path.name for path in CLIENT.glob("*.py")
                       if "client.admin" in _client_imports(path))
    assert importers == ["cli.py"]
    assert "client.local" in _client_imports(CLIENT / "ops.py")
    assert "client.local" in _client_imports(CLIENT / "admin.py")
