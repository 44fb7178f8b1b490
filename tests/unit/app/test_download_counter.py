"""The download counter through a database outage: counts kept, one log line, no traceback.

The outage is real: a SQLite database whose directory is a file cannot be opened.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from app.core.clock import ManualClock
from app.publishing.downloads import DownloadCounter


def test_an_outage_keeps_counts_and_logs_one_line_without_a_traceback(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "not-a-dir").write_text("a file where the database directory should be")
    engine = create_engine(f"sqlite:///{tmp_path}/not-a-dir/vouch.db")
    counter = DownloadCounter(engine, ManualClock(), timedelta(seconds=2))
    counter.hit(1, "left-pad")
    counter.hit(1, "left-pad")
    with caplog.at_level(logging.WARNING, logger="vouch.downloads"):
        for _ in range(5):  # five flush intervals while the database stays down
            assert counter.flush() == 0
    records = [r for r in caplog.records if r.name == "vouch.downloads"]
    assert len(records) == 1, [r.getMessage() for r in records]
    assert records[0].exc_info is None
    assert "database unavailable" in records[0].getMessage()
    assert "keeping 2 download counts" in records[0].getMessage()
    engine.dispose()
