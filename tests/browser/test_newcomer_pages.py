"""Issue 12's page bullets in a real Chromium, over versions signed for real (the registry's own
verifier, real gpg, the local Sigstore instance): signer tables in words, no time row for GPG,
advisory Markdown rendered safely (nothing runs, no unsafe link), a home page with content, an
/advisories page, and a recommended version that the real `vouch verify` accepts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Dialog, Page, expect

from app.core.clock import ManualClock
from app.core.config import Settings
from tests.conftest import Actors
from tests.functional.clihelp import cli_env, vouch
from tests.functional.helpers import publish
from tests.functional.test_advisories_fixtures import generic_advisory, security_client
from tests.support.server import RunningServer, running_registry

pytestmark = pytest.mark.browser

INTERNAL = ("entry_kind", "key_owner_id", "github.job_workflow_ref", "github.ref", "predicate_type",
            "Logged")


@pytest.fixture
def server(settings: Settings, clock: ManualClock) -> Iterator[RunningServer]:
    """The registry with its real verifier (the other browser tests use a stand-in)."""
    with running_registry(settings, clock) as running:
        yield running


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    # One version is published unsigned, to show that it is not the one recommended.
    return {"run_worker": False, "default_signature_policy": "none"}


def _dialogs(page: Page) -> list[str]:
    seen: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        seen.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return seen


def test_pages_say_who_signed_render_advisories_safely_and_recommend_a_passing_version(
        actors: Actors, browser_page: Page, console_errors: list[str],
        screenshot_dir: Path, tmp_path: Path) -> None:
    alice = actors.client(actors.user("alice"))                      # signs with GPG
    carol = actors.client(actors.user("carol", signing="sigstore"))  # a workflow identity
    assert publish(alice, "left-pad", "1.0.0", b"one").status_code == 201
    assert publish(alice, "left-pad", "1.1.0", b"vulnerable").status_code == 201
    assert publish(alice, "left-pad", "1.2.0", b"unsigned", signed=False).status_code == 201
    assert publish(carol, "widget", "1.0.0", b"widget").status_code == 201
    sec = security_client(actors)
    fields = generic_advisory("left-pad", introduced="1.1.0", fixed="1.2.0",
                              summary="Padding [overflow] in left-pad")
    fields["details"] = ("## Impact\n\nAn **attacker** pads `forever`.\n\n"
                         "[the fix](https://example.com/fix) [click](javascript:alert(1))\n\n"
                         "<script>alert(2)</script> <img src=x onerror=alert(3)>\n")
    advisory = sec.post("/api/v1/advisories", json=fields).json()["id"]
    assert sec.post(f"/api/v1/advisories/{advisory}/publish").status_code == 200
    page = browser_page
    dialogs = _dialogs(page)
    base = actors.server.url

    # Home: recently published, most downloaded, recent advisories.
    page.goto(base + "/")
    main = page.locator("main")
    for heading in ("Recently published", "Most downloaded", "Recent advisories"):
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
    expect(main.get_by_role("link", name="widget")).to_be_visible()
    expect(main.get_by_role("link", name=advisory)).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "newcomer-home.png"), full_page=True)

    # /advisories: severity and affected packages, linking to the advisory.
    page.goto(base + "/advisories")
    row = page.locator("main").get_by_text("Padding [overflow] in left-pad")
    expect(row).to_be_visible()
    expect(page.locator("main")).to_contain_text("Critical")
    expect(page.locator("main").get_by_role("link", name="left-pad").first).to_be_visible()
    page.locator("main").get_by_role("link", name=advisory).first.click()
    page.wait_for_url(re.compile(re.escape(f"/advisories/{advisory}") + "$"))

    # The advisory's Markdown: formatted, raw HTML shown as text, unsafe links not links.
    details = page.locator("main")
    expect(details.get_by_role("heading", name="Impact")).to_be_visible()
    expect(details.locator("strong", has_text="attacker")).to_be_visible()
    expect(details.get_by_role("link", name="the fix")).to_have_attribute(
        "href", "https://example.com/fix")
    expect(details.get_by_role("link", name="click")).to_have_count(0)
    expect(details).to_contain_text("<script>alert(2)</script>")
    assert page.locator("main script, main img").count() == 0
    assert page.locator("a[href^='javascript' i]").count() == 0
    page.screenshot(path=str(screenshot_dir / "newcomer-advisory.png"), full_page=True)

    # A GPG-signed package: the registry account that owns the key, no time row, no fields.
    page.goto(base + "/packages/left-pad")
    card = page.locator("#v-1\\.0\\.0")
    expect(card).to_contain_text("Signed with GPG by the key of registry account alice")
    expect(card).to_contain_text("GPG fingerprint")
    expect(card.get_by_text("Signed at", exact=True)).to_have_count(0)
    unsigned = page.locator("#v-1\\.2\\.0")
    expect(unsigned).to_contain_text("Unsigned")
    text = page.locator("main").inner_text()
    for internal in INTERNAL:
        assert internal not in text, internal
    # Recommended: not 1.2.0 (newest, unsigned), not 1.1.0 (affected): 1.0.0.
    expect(page.locator(".recommended")).to_contain_text("Recommended: 1.0.0")
    snippet = page.locator("pre.snippet").inner_text()
    assert snippet.splitlines() == ["vouch verify left-pad@1.0.0",
                                    "vouch install left-pad@1.0.0"]
    page.screenshot(path=str(screenshot_dir / "newcomer-package-gpg.png"), full_page=True)

    # A Sigstore-signed package: identity, issuer, Repository/Workflow, Signed at, Rekor.
    page.goto(base + "/packages/widget")
    card = page.locator("#v-1\\.0\\.0")
    expect(card).to_contain_text("Signed with Sigstore by")
    for label in ("Issuer", "Repository", "Workflow", "Signed at", "Rekor log index"):
        expect(card.locator("dt", has_text=re.compile(f"^{label}$"))).to_have_count(1)
    text = page.locator("main").inner_text()
    for internal in INTERNAL:
        assert internal not in text, internal
    page.screenshot(path=str(screenshot_dir / "newcomer-package-sigstore.png"), full_page=True)
    assert console_errors == [] and dialogs == []

    # The recommended version is one the real `vouch verify` accepts, as the snippet says.
    env = cli_env(base, None, tmp_path)
    verified = vouch(*snippet.splitlines()[0].split()[1:], env=env, cwd=tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    refused = vouch("verify", "left-pad@1.1.0", env=env, cwd=tmp_path)
    assert refused.returncode == 1 and advisory in refused.stdout + refused.stderr
