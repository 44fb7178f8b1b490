"""Upstream PEP 740 provenance, fetched and verified before a proxied file is stored.

    document = UpstreamProvenance(http, trust_setting).verify(url, filename, sha256, now)

The upstream's provenance object (``{"version": 1, "attestation_bundles": [{"publisher",
"attestations"}]}``) is read, each bundle's ``publisher`` turned into the identity it claims
(``publisher_policy``: GitHub repository, workflow and environment; GitLab repository and
workflow file on gitlab.com; Google email; ``Sigstore`` identity and issuer, Vouch's personal
identity publishers), and its attestations verified with
``formats.pypi.attestations.verify_attestations`` against the registry's Sigstore trust root
(``VOUCH_SIGSTORE_TRUST``) for exactly this filename and the sha256 the upstream's index
advertises (which the downloaded bytes must then match). Returns
the provenance object's bytes (what Vouch then stores and serves) only when at least one bundle
verifies and none fails; any failure (unreachable, malformed, an unknown publisher kind, a
signature that does not verify) is None with a log line naming why.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime
from typing import TYPE_CHECKING

from app.proxy.fetch import UpstreamHttp
from signing.policy import GenericIdentity, GitHubPublisher, IdentityPolicy

if TYPE_CHECKING:
    # pypi_attestations and sigstore load with the first provenance check (issue 13: memory).
    from signing.trust import TrustRoot

log = logging.getLogger("vouch.proxy")


class UpstreamProvenance:
    def __init__(self, http: UpstreamHttp, trust_setting: str) -> None:
        self.http = http
        self.trust_setting = trust_setting
        self._trust: TrustRoot | None = None

    def verify(self, url: str, filename: str, sha256: str, now: datetime) -> bytes | None:
        from formats.pypi.attestations import verify_attestations
        from signing.trust import TrustRoot

        name = self.http.upstream.name
        try:
            answer = self.http.get(url, accept="application/vnd.pypi.integrity.v1+json")
            if answer.status != 200:
                raise ValueError(f"HTTP {answer.status}")
            document = json.loads(answer.body)
            bundles = document["attestation_bundles"]
            if document.get("version") != 1 or not isinstance(bundles, list) or not bundles:
                raise ValueError("not a version 1 provenance object with bundles")
            if self._trust is None:
                self._trust = TrustRoot.named(self.trust_setting)
            for bundle in bundles:
                publisher = publisher_policy(bundle["publisher"])
                verify_attestations(json.dumps(bundle["attestations"]), filename=filename,
                                    sha256=sha256, publishers=[publisher], trust=self._trust,
                                    now=now)
        except Exception as err:  # any failure: the file counts as unsigned
            log.warning("upstream %s: provenance of %s does not verify (%s: %s)", name,
                        filename, err.__class__.__name__, str(err)[:200])
            return None
        return answer.body


def publisher_policy(raw: object) -> IdentityPolicy:
    """The identity a PEP 740 ``publisher`` object claims, as the policy its attestations must
    then satisfy; raises ``ValueError`` for a kind (or a shape) that cannot be checked."""
    if not isinstance(raw, dict):
        raise ValueError("the publisher is not an object")
    kind = raw.get("kind")
    if kind == "GitHub":
        environment = raw.get("environment")
        return GitHubPublisher(_text(raw, "repository"), _text(raw, "workflow"),
                               environment=environment if isinstance(environment, str)
                               and environment else None)
    if kind == "GitLab":
        repository = re.escape(_text(raw, "repository"))
        path = re.escape(_text(raw, "workflow_filepath"))
        return GenericIdentity(san_regex=f"https://gitlab\\.com/{repository}//{path}@.+",
                               issuer="https://gitlab.com")
    if kind == "Google":
        return GenericIdentity(san=_text(raw, "email"), issuer="https://accounts.google.com")
    if kind == "Sigstore":
        return GenericIdentity(san=_text(raw, "identity"), issuer=_text(raw, "issuer"))
    raise ValueError(f"unknown publisher kind {str(kind)[:32]!r}")


def _text(raw: dict[str, object], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"the publisher has no {key!r}")
    return value
