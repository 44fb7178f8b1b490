"""Console output: Rich for people, JSON for scripts. Errors go to stderr.

Both consoles print text literally (``markup=False``): user and server text such as
``[dependencies]`` or a schema pattern ``^(0|[a-f0-9]{40})$`` must reach the user with its
square brackets. Styling is asked for explicitly with ``style=``, never through markup.
"""

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

out = Console(soft_wrap=True, highlight=False, markup=False, emoji=False)
err = Console(stderr=True, soft_wrap=True, highlight=False, markup=False, emoji=False)

PROGRESS_THRESHOLD = 4 * 1024 * 1024  # show a bar only for transfers over a few MB


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def emit_json_error(message: str, *, code: str | None, exit_code: int,
                    problem: dict[str, Any] | None = None) -> None:
    """An error as one JSON object on stderr (for ``--json`` callers)."""
    body: dict[str, Any] = {"error": {"message": message, "code": code, "exit_code": exit_code}}
    if problem:
        body["error"]["problem"] = problem
    sys.stderr.write(json.dumps(body, sort_keys=True, default=str) + "\n")


def warn(message: str) -> None:
    """A warning on stderr, printed literally."""
    err.print("warning: ", style="yellow", end="")
    err.print(message)


def show_bar(total: int | None) -> bool:
    """A transfer bar is drawn on a terminal, or for any transfer over the threshold when
    ``VOUCH_PROGRESS=1`` forces it (it always goes to stderr)."""
    import os

    if os.environ.get("VOUCH_PROGRESS") == "0":
        return False
    forced = os.environ.get("VOUCH_PROGRESS") == "1"
    return bool(total) and (total or 0) >= PROGRESS_THRESHOLD and (err.is_terminal or forced)


@contextmanager
def transfer_bar(description: str, total: int | None) -> Iterator[Any]:
    """Yield a callback(done, total); draws a bar only for large transfers on a terminal."""
    if not show_bar(total):
        yield lambda done, total: None
        return
    with Progress(TextColumn("{task.description}", markup=False), BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), TimeRemainingColumn(), console=err) as progress:
        task = progress.add_task(description, total=total)
        yield lambda done, total: progress.update(task, completed=done, total=total)
