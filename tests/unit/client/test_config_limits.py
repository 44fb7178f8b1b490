"""The extraction limits in the client config: environment first, then the file, then the
defaults (1 GiB, 100,000 members); anything but a positive whole number is a usage error."""

from __future__ import annotations

from pathlib import Path

import pytest

from client.config import load_config
from client.errors import UsageError


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    monkeypatch.setenv("VOUCH_CONFIG", str(path))
    monkeypatch.delenv("VOUCH_MAX_EXTRACT_BYTES", raising=False)
    monkeypatch.delenv("VOUCH_MAX_EXTRACT_FILES", raising=False)
    return path


def test_defaults(config_file: Path) -> None:
    config = load_config()
    assert (config.max_extract_bytes, config.max_extract_files) == (1 << 30, 100_000)


def test_file_then_environment(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_file.write_text("max_extract_bytes = 5_000_000\nmax_extract_files = 20\n")
    config = load_config()
    assert (config.max_extract_bytes, config.max_extract_files) == (5_000_000, 20)
    monkeypatch.setenv("VOUCH_MAX_EXTRACT_BYTES", " 2147483648 ")
    monkeypatch.setenv("VOUCH_MAX_EXTRACT_FILES", "7")
    config = load_config()
    assert (config.max_extract_bytes, config.max_extract_files) == (2147483648, 7)


@pytest.mark.parametrize("variable, value", [
    ("VOUCH_MAX_EXTRACT_BYTES", "1GiB"), ("VOUCH_MAX_EXTRACT_BYTES", "-1"),
    ("VOUCH_MAX_EXTRACT_FILES", "0"), ("VOUCH_MAX_EXTRACT_FILES", "\u00b2"),
    ("VOUCH_MAX_EXTRACT_FILES", "1e6"),
])
def test_bad_environment_values(config_file: Path, monkeypatch: pytest.MonkeyPatch,
                                variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(UsageError, match=f"{variable} must be a positive whole number"):
        load_config()


@pytest.mark.parametrize("line", ["max_extract_bytes = true", "max_extract_bytes = 1.5",
                                  "max_extract_files = -3", 'max_extract_files = "lots"'])
def test_bad_file_values(config_file: Path, line: str) -> None:
    config_file.write_text(line + "\n")
    with pytest.raises(UsageError, match=r"max_extract_\w+ in .*config.toml must be"):
        load_config()
