"""The package page over real HTTP with real GPG signatures (issue 12): a GPG signer is the
registry account that owns the key, never the key's self-chosen name; the install snippet
recommends the newest version that passes verification."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest

from app.accounts import service as accounts
from app.core.db import session_scope
from tests.conftest import Actors
from tests.functional.helpers import publish
from tests.support.signing_setup import register_key


def _text(page: str) -> str:
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_a_look_alike_key_name_does_not_make_mallory_alice(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    actors.user("mallory")
    # mallory makes her own key whose user id claims to be Alice, and registers it
    signing = actors.signing
    key = signing.keyring.make("Alice Liddell <alice@example.org>",
                               faked=datetime.now(UTC) - timedelta(days=1))
    registry = actors.server.registry
    with session_scope(registry.engine, write=True) as session:
        mallory_user = accounts.get_user(session, "mallory")
        register_key(session, mallory_user, key, signing.key_info(key),
                     now=registry.clock.now())
        _, token = accounts.create_token(session, mallory_user, now=registry.clock.now())
    mallory = actors.client(token)
    data = b"looks like alice's"
    signature = signing.keyring.sign(key.fingerprint, data)
    assert publish(mallory, "alices-utils", "1.0.0", data,
                   gpg_signature=("a.asc", signature, "application/pgp-signature")
                   ).status_code == 201
    assert publish(alice, "real-utils", "1.0.0", b"alice's own").status_code == 201

    text = _text(actors.client().get("/packages/alices-utils").text)
    assert "Signed with GPG by the key of registry account mallory" in text
    assert "Key owner mallory (registry account)" in text
    assert f"GPG fingerprint {key.fingerprint}" in text
    assert "Name in the key (chosen by its maker, not checked) Alice Liddell" in text
    assert "by Alice" not in text and "registry account alice" not in text
    assert "key_owner_id" not in text and "Logged" not in text and "entry_kind" not in text
    real = _text(actors.client().get("/packages/real-utils").text)
    assert "Signed with GPG by the key of registry account alice" in real


@pytest.mark.parametrize("settings_overrides", [{"default_signature_policy": "none"}],
                         indirect=True)
def test_the_page_recommends_the_newest_version_that_passes_verification(
        actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    assert publish(alice, "pick", "1.0.0", b"ok").status_code == 201
    assert publish(alice, "pick", "1.1.0", b"deprecated").status_code == 201
    assert publish(alice, "pick", "1.2.0", b"unsigned", signed=False).status_code == 201
    assert publish(alice, "pick", "1.3.0-rc.1", b"pre").status_code == 201
    assert alice.put("/api/v1/packages/pick/versions/1.1.0/deprecation",
                     json={"message": "broken"}).status_code == 200
    text = _text(actors.client().get("/packages/pick").text)
    assert "Recommended: 1.0.0" in text
    assert "vouch install pick@1.0.0" in text and "vouch verify pick@1.0.0" in text
    assert "vouch install pick@1.2.0" not in text


def test_a_log_index_links_to_the_public_search_only_under_public_good(actors: Actors) -> None:
    """The suite trusts the local Sigstore instance: its log index is shown, but a link to
    search.sigstore.dev would open some other entry of the public log."""
    carol = actors.client(actors.user("carol", signing="sigstore"))
    assert publish(carol, "logged", "1.0.0", b"logged").status_code == 201
    page = actors.client().get("/packages/logged").text
    assert "Rekor log index" in _text(page) and "Signed at" in _text(page)
    assert "search.sigstore.dev" not in page
