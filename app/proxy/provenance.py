"""Upstream PEP 740 provenance, fetched and verified before a proxied file is stored.

    signed = UpstreamProvenance(http, trust_setting).verify(url, filename, sha256, now)

The upstream's provenance object (``{"version": 1, "attestation_bundles": [{"publisher",
"attestations"}]}``) is read, each bundle's ``publisher`` turned into the identity it claims
(GitHub: repository, workflow and environment; other kinds are not verified yet), and its
attestations verified with ``formats.pypi.attestations.verify_attestations`` against the
registry's Sigstore trust root (``VOUCH_SIGSTORE_TRUST``) for exactly this filename and the
sha256 the upstream's index advertises (which the downloaded bytes must then match). Returns
True only when at least one bundle verifies and none fails; any failure (unreachable,
malformed, a signature that does not verify) is False with a log line naming why.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from app.proxy.fetch import UpstreamHttp
from formats.pypi.attestations import verify_attestations
from signing.policy import GitHubPublisher, IdentityPolicy
from signing.trust import TrustRoot

log = logging.getLogger("vouch.proxy")


class UpstreamProvenance:
    def __init__(self, http: UpstreamHttp, trust_setting: str) -> None:
        self.http = http
        self.trust_setting = trust_setting
        self._trust: TrustRoot | None = None

    def verify(self, url: str, filename: str, sha256: str, now: datetime) -> bool:
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
                publisher = _publisher(bundle["publisher"])
                verify_attestations(json.dumps(bundle["attestations"]), filename=filename,
                                    sha256=sha256, publishers=[publisher], trust=self._trust,
                                    now=now)
        except Exception as err:  # any failure: the file counts as unsigned
            log.warning("upstream %s: provenance of %s does not verify (%s: %s)", name,
                        filename, err.__class__.__name__, str(err)[:200])
            return False
        return True


def _publisher(raw: object) -> IdentityPolicy:
    if not isinstance(raw, dict) or raw.get("kind") != "GitHub":
        raise ValueError("only GitHub publishers are verified for upstream provenance")
    environment = raw.get("environment")
    return GitHubPublisher(str(raw["repository"]), str(raw["workflow"]),
                           environment=environment if isinstance(environment, str)
                           and environment else None)
