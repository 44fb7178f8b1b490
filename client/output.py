"""Console output: Rich for people, JSON for scripts. Errors go to stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)

PROGRESS_THRESHOLD = 4 * 1024 * 1024  # show a bar only for transfers over a few MB


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


@contextmanager
def transfer_bar(description: str, total: int | None) -> Iterator[Any]:
    """Yield a callback(done, total); draws a bar only for large transfers on a terminal."""
    if not total or total < PROGRESS_THRESHOLD or not err.is_terminal:
        yield lambda done, total: None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), TimeRemainingColumn(), console=err) as progress:
        task = progress.add_task(description, total=total)
        yield lambda done, total: progress.update(task, completed=done, total=total)
