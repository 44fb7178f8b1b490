"""The document a publish answers lists the advisories that already affect the new version.

An advisory's range names versions nobody has published yet: the version document of a
publish is read in its recording transaction (issue 13), and must say so from the first
answer, exactly as a later GET of the version does.
"""

from __future__ import annotations

from tests.conftest import Actors
from tests.functional.helpers import publish
from tests.functional.test_advisories_fixtures import generic_advisory, security_client


def test_a_new_version_in_an_advisorys_range_is_answered_with_it(actors: Actors) -> None:
    alice = actors.client(actors.user("alice"))
    sec = security_client(actors)
    assert publish(alice, "pkg", "1.0.0", b"bytes 1.0.0").status_code == 201
    assert publish(alice, "other", "1.0.0", b"other 1.0.0").status_code == 201
    draft = sec.post("/api/v1/advisories",
                     json=generic_advisory("pkg", introduced="1.0.0", fixed="2.0.0")).json()
    unpublished = publish(alice, "pkg", "1.2.0", b"bytes 1.2.0")
    assert unpublished.status_code == 201 and unpublished.json()["advisories"] == []
    assert sec.post(f"/api/v1/advisories/{draft['id']}/publish").status_code == 200

    affected = publish(alice, "pkg", "1.7.0", b"bytes 1.7.0")
    assert affected.status_code == 201
    assert [a["id"] for a in affected.json()["advisories"]] == [draft["id"]]
    assert affected.json()["advisories"] == alice.get(
        "/api/v1/packages/pkg/versions/1.7.0").json()["advisories"]
    fixed = publish(alice, "pkg", "2.1.0", b"bytes 2.1.0")
    assert fixed.status_code == 201 and fixed.json()["advisories"] == []
    other = publish(alice, "other", "1.7.0", b"other 1.7.0")
    assert other.status_code == 201 and other.json()["advisories"] == []
