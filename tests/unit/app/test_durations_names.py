from __future__ import annotations

from datetime import timedelta

import pytest

from app.core.config import Settings
from app.core.durations import parse_duration
from app.core.errors import InvalidName
from app.publishing.names import parse_package_name


@pytest.mark.parametrize(("text", "seconds"), [
    ("24h", 86400), ("90s", 90), ("15m", 900), ("7d", 604800), ("1h30m", 5400), ("120", 120)])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "h", "24x", "1.5h", "-5s", "5s3"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("VOUCH_UNPUBLISH_GRACE", "90s")
    monkeypatch.setenv("VOUCH_DATA_DIR", str(tmp_path))
    settings = Settings()
    assert settings.unpublish_grace == timedelta(seconds=90)
    assert settings.max_upload_bytes == 100 * 1024 * 1024
    assert settings.resolved_database_url.endswith("/vouch.db")


def test_unsigned_mode_is_refused_in_production() -> None:
    with pytest.raises(ValueError, match="refused"):
        Settings(environment="production", default_signature_policy="none")


def test_scoped_and_plain_names() -> None:
    assert parse_package_name("@acme/widgets").scope == "acme"
    assert parse_package_name("left-pad").full == "left-pad"
    for bad in ("@acme/../x", "a\\b", "UPPER", "@ac me/x"):
        with pytest.raises(InvalidName):
            parse_package_name(bad)
