"""The web pages in a real headless Chromium: autocomplete by keyboard, phone layout, focus.

Screenshots land in test-output/ (gitignored): the dropdown, the package page, the phone views.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import chromium_path
from tests.conftest import Actors
from tests.functional.helpers import publish
from tests.functional.test_advisories_fixtures import generic_advisory, security_client
from tests.functional.test_web_pages import FINGERPRINT, SIGSTORE_IDENTITY

pytestmark = pytest.mark.browser

CONTRAST_JS = (Path(__file__).parent / "contrast.js").read_text()


def _low_contrast(page: Page) -> list[str]:
    """Text whose contrast with its background is below WCAG AA (4.5:1)."""
    failures: list[str] = page.evaluate(CONTRAST_JS, 4.5)
    return failures


def _index(actors: Actors) -> None:
    registry = actors.server.registry
    registry.downloads.flush()
    while registry.worker.run_once():
        pass


def _seed(actors: Actors) -> None:
    """reactor is the most downloaded, react the exact name, react-dom in between."""
    alice = actors.client(actors.user("alice"))
    packages = [("react", "A library for user interfaces", 1),
                ("react-dom", "DOM bindings for react", 3),
                ("reactor", "Reactive streams", 6),
                ("preact", "Fast 3kB alternative to react", 2),
                ("lodash", "Utilities", 9)]
    for name, description, downloads in packages:
        assert publish(alice, name, "1.0.0", name.encode(), sigstore_bundle="{}",
                       metadata={"description": description}).status_code == 201
        for _ in range(downloads):
            alice.get(f"/api/v1/packages/{name}/versions/1.0.0/artifact")
    assert publish(alice, "react-dom", "1.1.0", b"rdom11", gpg_signature="sig",
                   metadata={"description": "DOM bindings for react"}).status_code == 201
    assert alice.put("/api/v1/packages/react/versions/1.0.0/deprecation",
                     json={"message": "use react 2"}).status_code == 200
    _index(actors)


def _options(page: Page) -> list[str]:
    return page.locator("#home-search-listbox [role=option] .option-name").all_inner_texts()


def test_chromium_is_installed() -> None:
    version = subprocess.run([chromium_path(), "--version"], capture_output=True, text=True,
                             check=True, timeout=60)
    assert "Chromium" in version.stdout


def test_type_a_prefix_pick_with_the_keyboard_land_on_the_package(
        actors: Actors, browser_page: Page, console_errors: list[str],
        screenshot_dir: Path) -> None:
    _seed(actors)
    page = browser_page
    page.goto(actors.server.url + "/")
    box = page.get_by_role("combobox", name="Search packages")
    listbox = page.locator("#home-search-listbox")
    expect(box).to_have_attribute("aria-expanded", "false")

    box.press_sequentially("rea", delay=30)
    expect(listbox).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    # names starting with the prefix, by downloads; "preact" (no word starts with it) absent
    expect(page.locator("#home-search-listbox [role=option]")).to_have_count(3)
    assert _options(page) == ["reactor", "react-dom", "react"]
    expect(page.locator("[data-autocomplete-status]").first).to_have_text(
        "3 suggestions available")

    # Escape closes the list; ArrowDown reopens it on the first option
    box.press("Escape")
    expect(listbox).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")
    box.press("ArrowDown")
    expect(listbox).to_be_visible()
    expect(box).to_have_attribute("aria-activedescendant", "home-search-listbox-option-0")

    box.press("ArrowDown")
    selected = page.locator("#home-search-listbox [role=option][aria-selected=true]")
    expect(selected).to_have_count(1)
    expect(selected.locator(".option-name")).to_have_text("react-dom")
    expect(box).to_be_focused()  # focus stays in the input (aria-activedescendant pattern)
    page.screenshot(path=str(screenshot_dir / "autocomplete-dropdown.png"))
    assert _low_contrast(page) == []

    box.press("Enter")
    page.wait_for_url(re.compile(r"/packages/react-dom$"))
    expect(page.locator("h1")).to_have_text("react-dom")
    expect(page.get_by_text("vouch install react-dom@1.1.0")).to_be_visible()
    expect(page.get_by_text("Signed with GPG")).to_be_visible()
    expect(page.get_by_text(FINGERPRINT)).to_be_visible()
    expect(page.get_by_text(SIGSTORE_IDENTITY)).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "package-page.png"), full_page=True)
    assert _low_contrast(page) == []
    assert console_errors == []  # no CSP violation, no script error


def test_typing_on_the_results_page_and_enter_without_a_choice_searches(
        actors: Actors, browser_page: Page, console_errors: list[str]) -> None:
    _seed(actors)
    page = browser_page
    page.goto(actors.server.url + "/packages/lodash")
    box = page.get_by_role("combobox", name="Search packages")
    box.press_sequentially("react", delay=20)
    expect(page.locator("#header-search-listbox .option-name").first).to_have_text(
        "react")  # the exact name first
    box.press("Enter")  # nothing chosen: the form submits to the results page
    page.wait_for_url(re.compile(r"/search\?q=react$"))
    expect(page.locator("h1")).to_have_text("Results for “react”")
    first = page.locator(".result-title a").first
    expect(first).to_have_text("react")
    expect(page.locator(".result").first.get_by_text("Deprecated")).to_be_visible()
    # a click on a suggestion opens it too
    box = page.get_by_role("combobox", name="Search packages")
    box.fill("")
    box.press_sequentially("lod", delay=20)
    page.locator("#header-search-listbox [role=option]").first.click()
    page.wait_for_url(re.compile(r"/packages/lodash$"))
    assert console_errors == []


def test_keyboard_focus_order_and_visible_focus(actors: Actors, browser_page: Page) -> None:
    _seed(actors)
    page = browser_page
    page.goto(actors.server.url + "/packages/react")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    outline = skip.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline != "none"
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Vouch", exact=True)).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("combobox", name="Search packages")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Search")).to_be_focused()
    width = page.get_by_role("button", name="Search").evaluate(
        "el => getComputedStyle(el).outlineWidth")
    assert width not in ("0px", "")


def test_phone_viewport(actors: Actors, browser: Browser, screenshot_dir: Path) -> None:
    _seed(actors)
    long_description = ("A very long description that must wrap on a small screen " * 6).strip()
    assert actors.client(actors.user("root", admin=True)).post(
        "/api/v1/orgs", json={"name": "acme"}).status_code == 201
    root = actors.client(actors.token("root"))
    assert publish(root, "@acme/a-rather-long-package-name-for-phones", "10.20.30-beta.1",
                   sigstore_bundle="{}", metadata={"description": long_description}
                   ).status_code == 201
    _index(actors)
    context = browser.new_context(viewport={"width": 375, "height": 740},
                                  device_scale_factor=2, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(actors.server.url + "/packages/@acme/a-rather-long-package-name-for-phones")
        expect(page.locator("h1")).to_have_text("@acme/a-rather-long-package-name-for-phones")
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px on a phone"
        font = page.locator(".description").evaluate("el => parseFloat(getComputedStyle(el)"
                                                     ".fontSize)")
        assert font >= 16
        page.screenshot(path=str(screenshot_dir / "phone-package-page.png"), full_page=True)

        page.goto(actors.server.url + "/")
        box = page.get_by_role("combobox", name="Search packages")
        box.press_sequentially("re", delay=20)
        expect(page.locator("#home-search-listbox")).to_be_visible()
        listbox_box = page.locator("#home-search-listbox").bounding_box()
        assert listbox_box is not None and listbox_box["x"] >= 0
        assert listbox_box["x"] + listbox_box["width"] <= 375
        page.screenshot(path=str(screenshot_dir / "phone-home-dropdown.png"))
    finally:
        context.close()


def test_results_and_advisory_pages_render_without_errors(
        actors: Actors, browser_page: Page, console_errors: list[str],
        screenshot_dir: Path) -> None:
    _seed(actors)
    sec = security_client(actors)
    fields = generic_advisory("react-dom", fixed="1.1.0", summary="XSS in dangerouslySetHTML")
    fields["details"] = "Rendering untrusted <b>markup</b> runs scripts.\n\nUpgrade to 1.1.0."
    fields["references"] = [{"type": "ADVISORY", "url": "https://example.com/advisory"}]
    advisory_id = sec.post("/api/v1/advisories", json=fields).json()["id"]
    assert sec.post(f"/api/v1/advisories/{advisory_id}/publish").status_code == 200
    _index(actors)
    page = browser_page

    page.goto(actors.server.url + "/search?q=react")
    expect(page.locator(".result")).to_have_count(4)
    page.screenshot(path=str(screenshot_dir / "search-results.png"), full_page=True)
    assert _low_contrast(page) == []

    page.goto(actors.server.url + "/packages/react-dom")
    page.get_by_role("link", name=advisory_id).first.click()
    page.wait_for_url(re.compile(re.escape(f"/advisories/{advisory_id}") + "$"))
    expect(page.locator("h1")).to_have_text("XSS in dangerouslySetHTML")
    expect(page.get_by_text("Rendering untrusted <b>markup</b> runs scripts.")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "advisory-page.png"), full_page=True)
    assert _low_contrast(page) == []
    page.get_by_role("link", name="react-dom").click()
    page.wait_for_url(re.compile(r"/packages/react-dom$"))
    assert console_errors == []


def test_a_python_suggestion_opens_its_simple_page(
        actors: Actors, browser_page: Page, tmp_path: Path) -> None:
    """Search covers every format, so a suggestion must open the page of its own format: a
    Python project has no /packages/ page, its page is the Simple API's."""
    from tests.functional.pypi_clients import twine_upload
    from tests.support.pydists import build_wheel

    token = actors.user("alice")
    wheel = build_wheel(tmp_path, "Zebra.Stripes", "1.0")
    asc = wheel.with_name(wheel.name + ".asc")
    asc.write_bytes(actors.signers["alice"].sign(wheel.read_bytes()))  # type: ignore[attr-defined]
    uploaded = twine_upload(actors.server.url, token, [wheel, asc], tmp_path / "home")
    assert uploaded.returncode == 0, uploaded.stdout + uploaded.stderr
    _index(actors)

    page = browser_page
    page.goto(actors.server.url + "/")
    box = page.get_by_role("combobox", name="Search packages")
    box.press_sequentially("zebr", delay=30)
    expect(page.locator("#home-search-listbox [role=option]")).to_have_count(1)
    box.press("ArrowDown")
    box.press("Enter")
    page.wait_for_url(re.compile(r"/simple/zebra-stripes/$"))
    expect(page.get_by_role("link", name=wheel.name)).to_be_visible()
