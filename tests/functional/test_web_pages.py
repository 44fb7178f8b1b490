"""The server-rendered pages over real HTTP: content, escaping, paging, 404s, security headers.

Signed versions go through the real publish path with a stand-in verifier (the signature
cryptography is tested in tests/unit/signing); what the page shows is what was recorded.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlmodel import Session

from app.core.clock import ManualClock
from app.core.config import Settings
from app.registry import Registry
from app.trust.evidence import PublishContext, Verification, VerifiedEvidence
from tests.conftest import Actors
from tests.functional.helpers import publish
from tests.functional.test_advisories_fixtures import generic_advisory, security_client
from tests.support.server import RunningServer, running_registry

SIGSTORE_IDENTITY = "https://github.com/acme/widgets/.github/workflows/release.yml@refs/tags/v2"
GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
FINGERPRINT = "0123456789ABCDEF0123456789ABCDEF01234567"
EVIL = "<script>alert(1)</script>"


class StandInVerifier:
    """Accepts any evidence and records a fixed identity, as a real verifier would record."""

    def prepare_sigstore(self, session: Session, ctx: PublishContext) -> Verification:
        return lambda: VerifiedEvidence(
            method="sigstore", raw="{}", log_index=123456789, log_id="c0ffee",
            integrated_time=datetime(2025, 3, 1, 12, 0, tzinfo=UTC),
            identity={"identity": SIGSTORE_IDENTITY, "issuer": GITHUB_ISSUER,
                      "github": {"repository": "acme/widgets", "ref": "refs/tags/v2"}})

    def prepare_gpg(self, session: Session, ctx: PublishContext) -> Verification:
        return lambda: VerifiedEvidence(method="gpg", raw="sig",
                                        identity={"fingerprint": FINGERPRINT})

    def confirm(self, session: Session, ctx: PublishContext,
                verified: VerifiedEvidence) -> VerifiedEvidence:
        return verified

    def sigstore_in_process(self) -> bool:
        return True  # the stand-in's check is CPU only


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, object]:
    return {"run_worker": False, **getattr(request, "param", {})}


@pytest.fixture
def server(settings: Settings, clock: ManualClock) -> Iterator[RunningServer]:
    registry = Registry.build(settings, clock=clock, verifier=StandInVerifier())
    with running_registry(settings, clock, registry) as running:
        yield running


def _index(actors: Actors) -> None:
    registry = actors.server.registry
    registry.downloads.flush(search_now=True)
    while registry.worker.run_once():
        pass


def _page(client: httpx.Client, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp
    return response.text


def _text(page: str) -> str:
    """The visible text, tags removed and whitespace collapsed (entities decoded)."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_home_has_a_labelled_search_combobox(actors: Actors) -> None:
    page = _page(actors.client(), "/")
    assert '<meta name="viewport"' in page
    assert '<label for="home-search-input"' in page
    assert 'role="combobox"' in page and 'aria-controls="home-search-listbox"' in page
    assert 'role="listbox"' in page and 'role="search"' in page
    assert '<main id="main"' in page and 'href="#main"' in page
    assert '<script src="/static/autocomplete.js" defer></script>' in page
    # No inline script or style: the CSP would block them.
    assert re.search(r"<script>|<style|style=", page) is None
    script = actors.client().get("/static/autocomplete.js")
    assert script.status_code == 200 and "/api/v1/search/suggest" in script.text


# The page renders unsigned versions too, which only the (development-only) `none` policy
# lets in. Log indexes link to the public Rekor search only under the public-good trust root
# (the stand-in verifier reads no trust root).
@pytest.mark.parametrize("settings_overrides", [{"default_signature_policy": "none",
                                                 "sigstore_trust": "public-good"}],
                         indirect=True)
def test_package_page_shows_versions_signers_deprecation_downloads(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "widgets", "1.0.0", b"one", gpg_signature="sig").status_code == 201
    assert publish(alice, "widgets", "2.0.0", b"two", sigstore_bundle="{}",
                   metadata={"description": "Widgets for everyone", "license": "MIT",
                             "keywords": ["ui"]}).status_code == 201
    assert publish(alice, "widgets", "2.1.0-rc.1", b"rc", signed=False).status_code == 201
    assert alice.put("/api/v1/packages/widgets/versions/1.0.0/deprecation",
                     json={"message": "1.x is unmaintained, use 2.x"}).status_code == 200
    for _ in range(3):
        assert alice.get("/api/v1/packages/widgets/versions/2.0.0/artifact").status_code == 200
    actors.server.registry.downloads.flush()

    page = _page(actors.client(), "/packages/widgets")
    text = _text(page)
    assert "<h1 id=\"package-name\" class=\"name\">widgets</h1>" in page
    assert "Version 2.0.0 (latest)" in text
    assert "Widgets for everyone" in text and "MIT" in text
    assert "3 downloads" in text
    assert "vouch verify widgets@2.0.0" in text and "vouch install widgets@2.0.0" in text
    # newest first, each with its date
    assert re.findall(r'<h3 class="version">([^<]+)</h3>', page) == [
        "2.1.0-rc.1", "2.0.0", "1.0.0"]
    assert page.count(f'datetime="{actors.server.clock.now().date().isoformat()}') >= 3
    # signers: Sigstore identity + Rekor index, GPG fingerprint, unsigned
    assert f"Signed with Sigstore by {SIGSTORE_IDENTITY}" in text
    assert f"Issuer {GITHUB_ISSUER}" in text
    assert "Rekor log index 123456789" in text
    assert 'href="https://search.sigstore.dev/?logIndex=123456789"' in page
    assert "Repository acme/widgets" in text and "Git ref refs/tags/v2" in text
    assert "github.repository" not in text and "entry_kind" not in text
    assert "Signed at" in text and "Logged" not in text
    assert "Signed with GPG" in text and f"GPG fingerprint {FINGERPRINT}" in text
    assert "Unsigned : no signature was verified" in text
    assert "Deprecated: 1.x is unmaintained, use 2.x" in text


def test_scoped_package_page_and_deprecated_latest(actors: Actors) -> None:
    admin = actors.client(actors.user("root", admin=True))
    assert admin.post("/api/v1/orgs", json={"name": "acme"}).status_code == 201
    assert publish(admin, "@acme/tool", "0.1.0").status_code == 201
    assert admin.put("/api/v1/packages/@acme/tool/versions/0.1.0/deprecation",
                     json={"message": "moved to @acme/tool2"}).status_code == 200
    text = _text(_page(actors.client(), "/packages/@acme/tool"))
    assert "@acme/tool" in text
    assert "Version 0.1.0 is deprecated: moved to @acme/tool2" in text
    # the only version is deprecated: nothing is recommended, and the page says why
    assert "vouch install @acme/tool@0.1.0" not in text
    assert "No version passes verification" in text


def test_user_controlled_text_is_escaped(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "evil", "1.0.0", metadata={
        "description": EVIL, "keywords": ['"><img src=x onerror=alert(1)>'],
        "repository": "javascript:alert(1)"}).status_code == 201
    assert alice.put("/api/v1/packages/evil/versions/1.0.0/deprecation",
                     json={"message": EVIL}).status_code == 200
    _index(actors)
    for path in ("/packages/evil", "/search?q=evil"):
        page = _page(actors.client(), path)
        assert EVIL not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    page = _page(actors.client(), "/packages/evil")
    assert 'href="javascript:' not in page
    # the query itself is reflected escaped, and never breaks out of the input's value
    page = _page(actors.client(), "/search?q=" + httpx.QueryParams({"x": EVIL + '"'})["x"])
    assert EVIL not in page and 'value="&lt;script&gt;alert(1)&lt;/script&gt;&#34;"' in page


def test_search_results_and_paging(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    for i in range(25):
        assert publish(alice, f"pager-{i:02d}", "1.0.0", f"p{i}".encode(),
                       metadata={"description": "paged package"}).status_code == 201
    assert publish(alice, "pager", "1.0.0", b"exact").status_code == 201
    _index(actors)
    client = actors.client()
    first = _page(client, "/search?q=pager")
    text = _text(first)
    assert "26 packages found; page 1 of 2." in text
    assert first.count('class="result"') == 20
    titles = re.findall(r'class="result-title"><a href="/packages/([^"]+)"', first)
    assert titles[0] == "pager"  # the exact name first
    assert 'rel="next" href="/search?q=pager&amp;page=2"' in first
    assert 'rel="prev"' not in first
    second = _page(client, "/search?q=pager&page=2")
    assert second.count('class="result"') == 6 and 'rel="prev"' in second
    assert 'start="21"' in second
    # nonsense paging falls back to the first page instead of an error
    assert "page 1 of 2" in _text(_page(client, "/search?q=pager&page=abc"))
    beyond = _text(_page(client, "/search?q=pager&page=9"))
    assert "There are only 2 pages of results for “pager”. Go to the first page" in beyond
    assert "No package matches “zzz-nothing”." in _text(_page(client, "/search?q=zzz-nothing"))
    assert "Type a package name" in _text(_page(client, "/search"))


def test_search_badges(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "oldie", "1.0.0", metadata={"description": "old"}).status_code == 201
    assert alice.put("/api/v1/packages/oldie/versions/1.0.0/deprecation",
                     json={"message": "no"}).status_code == 200
    _index(actors)
    text = _text(_page(actors.client(), "/search?q=oldie"))
    assert "oldie 1.0.0" in text and "Deprecated" in text


def test_advisory_page_and_package_advisories(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "leaky", "1.0.0", b"1").status_code == 201
    assert publish(alice, "leaky", "2.0.0", b"2").status_code == 201
    sec = security_client(actors)
    fields = generic_advisory("leaky", fixed="2.0.0", summary="Leaky leaks secrets")
    fields["details"] = "Details with " + EVIL
    fields["references"] = [{"type": "WEB", "url": "https://example.com/leak"},
                            {"type": "WEB", "url": "javascript:alert(1)"}]
    advisory_id = sec.post("/api/v1/advisories", json=fields).json()["id"]
    # a draft is not public
    _page(actors.client(), f"/advisories/{advisory_id}", status=404)
    assert sec.post(f"/api/v1/advisories/{advisory_id}/publish").status_code == 200

    page = _page(actors.client(), f"/advisories/{advisory_id}")
    text = _text(page)
    assert "Leaky leaks secrets" in text and "Severity: Critical" in text
    assert "Details with <script>alert(1)</script>" in text and EVIL not in page
    assert 'href="/packages/leaky"' in page
    assert "SEMVER: from the start, fixed 2.0.0" in text
    assert 'href="https://example.com/leak"' in page and 'href="javascript:' not in page

    package = _page(actors.client(), "/packages/leaky")
    text = _text(package)
    assert f'href="/advisories/{advisory_id}"' in package
    assert f"{advisory_id} Critical Leaky leaks secrets Affects 1.0.0" in text
    assert "1 advisory affects versions of this package." in text


def test_advisory_details_are_markdown_rendered_safely(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "leaky", "1.0.0", b"1").status_code == 201
    sec = security_client(actors)
    fields = generic_advisory("leaky", fixed="2.0.0", summary="Markdown details")
    fields["details"] = (
        "## Impact\n\nAn **attacker** can read `secrets`.\n\n"
        "- see [the fix](https://example.com/fix)\n"
        "- [click](javascript:alert(1)) [me](JaVaScRiPt:alert(2)) [data](data:text/html,x)\n"
        "\n<img src=x onerror=alert(3)> <a href=\"javascript:alert(4)\">raw</a>\n")
    advisory_id = sec.post("/api/v1/advisories", json=fields).json()["id"]
    assert sec.post(f"/api/v1/advisories/{advisory_id}/publish").status_code == 200
    page = _page(actors.client(), f"/advisories/{advisory_id}")
    assert "<h2>Impact</h2>" in page and "<strong>attacker</strong>" in page
    assert "<code>secrets</code>" in page
    assert ('<a href="https://example.com/fix" rel="nofollow noopener noreferrer">the fix</a>'
            in page)
    assert 'href="javascript' not in page.lower() and 'href="data:' not in page
    assert "<img" not in page and "onerror" not in page.replace("onerror=alert(3)", "")
    assert "&lt;img src=x onerror=alert(3)&gt;" in page  # shown as text


def test_withdrawn_advisory_says_so(actors: Actors) -> None:
    sec = security_client(actors)
    advisory_id = sec.post("/api/v1/advisories", json=generic_advisory("x")).json()["id"]
    assert sec.post(f"/api/v1/advisories/{advisory_id}/publish").status_code == 200
    assert sec.post(f"/api/v1/advisories/{advisory_id}/withdraw",
                    json={"reason": "not a bug"}).status_code == 200
    text = _text(_page(actors.client(), f"/advisories/{advisory_id}"))
    assert "This advisory was withdrawn on" in text and "not a bug" in text


def test_unknown_package_and_advisory_are_404_pages(actors: Actors) -> None:
    client = actors.client()
    page = _page(client, "/packages/no-such-package", status=404)
    assert "Package not found" in page and "no-such-package" in page
    page = _page(client, "/packages/@nobody/" + "x", status=404)
    assert "@nobody/x" in page
    page = _page(client, "/advisories/GHSA-0000-0000-0000", status=404)
    assert "Advisory not found" in page
    page = _page(client, "/packages/" + "%3Cscript%3Ealert(1)%3C%2Fscript%3E", status=404)
    assert EVIL not in page and "&lt;script&gt;" in page


def test_quarantined_and_unpublished_versions_are_marked(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "trojan", "1.0.0", b"ok").status_code == 201
    assert publish(alice, "trojan", "1.0.1", b"bad").status_code == 201
    assert publish(alice, "trojan", "1.0.2", b"oops").status_code == 201
    assert alice.delete("/api/v1/packages/trojan/versions/1.0.2").status_code == 204
    sec = security_client(actors)
    fields = generic_advisory("trojan", introduced="1.0.1", fixed="1.0.2", malicious=True,
                              summary="Malicious code in 1.0.1")
    advisory_id = sec.post("/api/v1/advisories", json=fields).json()["id"]
    assert sec.post(f"/api/v1/advisories/{advisory_id}/publish").status_code == 200
    assert sec.post(f"/api/v1/advisories/{advisory_id}/quarantine").status_code == 200

    page = _page(actors.client(), "/packages/trojan")
    cards = {m.group(1): _text(m.group(2)) for m in re.finditer(
        r'<h3 class="version">([^<]+)</h3>(.*?)</li>\s*(?=<li|</ol>)', page, flags=re.S)}
    assert set(cards) == {"1.0.0", "1.0.1", "1.0.2"}
    assert "Quarantined" in cards["1.0.1"] and "1 advisory" in cards["1.0.1"]
    assert "Quarantined" not in cards["1.0.0"] and "Latest" in cards["1.0.0"]
    assert "Unpublished" in cards["1.0.2"]
    text = _text(page)
    assert f"{advisory_id} Malicious Critical Malicious code in 1.0.1 Affects 1.0.1" in text
    assert "vouch install trojan@1.0.0" in text


def test_home_lists_recent_and_popular_packages_and_advisories(actors: Actors) -> None:
    empty = _text(_page(actors.client(), "/"))
    assert "Nothing has been published yet." in empty and "No advisories." in empty
    alice = actors.client(actors.user("alice"))
    for name in ("first", "second", "third"):
        assert publish(alice, name, "1.0.0", name.encode()).status_code == 201
    assert publish(alice, "second", "1.1.0", b"second again").status_code == 201
    assert publish(alice, "hidden", "1.0.0", b"hidden").status_code == 201
    assert alice.delete("/api/v1/packages/hidden/versions/1.0.0").status_code == 204
    for _ in range(3):
        assert alice.get("/api/v1/packages/third/versions/1.0.0/artifact").status_code == 200
    assert alice.get("/api/v1/packages/first/versions/1.0.0/artifact").status_code == 200
    actors.server.registry.downloads.flush()
    sec = security_client(actors)
    advisory = sec.post("/api/v1/advisories", json=generic_advisory(
        "first", fixed="2.0.0", summary="First is " + EVIL)).json()["id"]
    draft = sec.post("/api/v1/advisories", json=generic_advisory(
        "third", fixed="2.0.0", summary="A draft nobody sees")).json()["id"]
    assert sec.post(f"/api/v1/advisories/{advisory}/publish").status_code == 200

    page = _page(actors.client(), "/")
    text = _text(page)
    recent = text[text.index("Recently published"):text.index("Most downloaded")]
    order = [recent.index("second 1.1.0"), recent.index("third 1.0.0"), recent.index("first")]
    assert order == sorted(order), recent
    assert "hidden" not in recent  # unpublished
    popular = text[text.index("Most downloaded"):text.index("Recent advisories")]
    assert popular.index("third 3 downloads") < popular.index("first 1 download")
    assert "second" not in popular
    assert f'href="/advisories/{advisory}"' in page and draft not in page
    assert EVIL not in page and "First is <script>" in text

    listing = _page(actors.client(), "/advisories")
    listed = _text(listing)
    assert advisory in listed and "Critical" in listed and draft not in listing
    assert 'href="/packages/first"' in listing and EVIL not in listing
