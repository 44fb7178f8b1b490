"""Fixtures for the browser tests: Debian's chromium driven by Playwright, and the real server.

    def test_x(browser_page, web_server): browser_page.goto(web_server.url)

The browser is the system's ``/usr/bin/chromium`` (``VOUCH_CHROMIUM`` overrides the path):
Playwright's own browser download cannot work on these machines. A missing browser FAILS the
test with a message saying how to install it; it is never a skip.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from app.core.clock import ManualClock
from app.core.config import Settings
from app.registry import Registry
from tests.functional.test_web_pages import StandInVerifier
from tests.support.server import RunningServer, running_registry

OUTPUT_DIR = Path(__file__).resolve().parents[2] / "test-output"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def chromium_path() -> str:
    configured = os.environ.get("VOUCH_CHROMIUM")
    candidates = [configured] if configured else ["/usr/bin/chromium", "chromium"]
    for candidate in candidates:
        found = shutil.which(candidate) if candidate else None
        if found:
            return found
    pytest.fail(
        f"chromium was not found (looked for {', '.join(c for c in candidates if c)}). "
        "The browser tests need Debian's chromium: run `apt-get install -y chromium` "
        "(or `python scripts/test_browser_deps.py` as root), or set VOUCH_CHROMIUM.",
        pytrace=False)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def console_errors() -> list[str]:
    """Console errors and uncaught exceptions of the page (a CSP violation is one)."""
    return []


@pytest.fixture
def browser_page(browser: Browser, console_errors: list[str]) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            console_errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: console_errors.append(str(error)))
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    # Tests index synchronously with registry.worker.run_once().
    return {"run_worker": False}


@pytest.fixture
def server(settings: Settings, clock: ManualClock) -> Iterator[RunningServer]:
    registry = Registry.build(settings, clock=clock, verifier=StandInVerifier())
    with running_registry(settings, clock, registry) as running:
        yield running


@pytest.fixture
def screenshot_dir() -> Path:
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    return OUTPUT_DIR
