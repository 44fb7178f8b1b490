"""Upstream npm provenance (``dist.attestations``), fetched and verified before a proxied
tarball is stored.

    checker = NpmUpstreamProvenance(http, trust_setting)
    signed = checker.verify(url, name, version, manifest, sha256, sha512, now)

The upstream's attestations document (``{"attestations": [{"predicateType", "bundle"}]}``, the
address in ``dist.attestations.url``) is read and every SLSA provenance bundle in it verified
with ``signing.sigstore.verify_bundle`` (the same verifier npm publishes go through) against the
registry's Sigstore trust root (``VOUCH_SIGSTORE_TRUST``): the in-toto subject must be this
package's URL (``pkg:npm/<name>@<version>``) with the downloaded tarball's digests, and the
certificate must be a GitHub Actions workflow of the repository the version's manifest names
(``repository``: npm's own rule for ``npm publish --provenance``). npm's publish attestations
(signed by the registry's key, not by Fulcio) are not what this checks and are skipped.
Returns True only when at least one provenance bundle verifies and none fails; anything else
(no GitHub repository in the manifest, unreachable, malformed, a bundle that does not verify)
is False with a log line naming why.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.proxy.fetch import UpstreamHttp
from signing.policy import GenericIdentity

if TYPE_CHECKING:
    # sigstore-python loads with the first provenance check (issue 13: idle memory).
    from signing.trust import TrustRoot

log = logging.getLogger("vouch.proxy")
SLSA_PREFIX = "https://slsa.dev/provenance/"
GITHUB_ACTIONS_ISSUER = "https://token.actions.githubusercontent.com"
_GITHUB_REPO = re.compile(
    r"^(?:git\+)?(?:https?|ssh|git)://(?:git@)?github\.com[/:]([A-Za-z0-9_.-]+)/"
    r"([A-Za-z0-9_.-]+?)(?:\.git)?/?$|^github:([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)$")


class NpmUpstreamProvenance:
    def __init__(self, http: UpstreamHttp, trust_setting: str) -> None:
        self.http = http
        self.trust_setting = trust_setting
        self._trust: TrustRoot | None = None

    def verify(self, url: str, name: str, version: str, manifest: dict[str, Any],
               sha256: str, sha512: str, now: datetime) -> bool:
        from signing.sigstore import verify_bundle
        from signing.trust import TrustRoot

        try:
            policy = repository_policy(manifest.get("repository"))
            answer = self.http.get(url, accept="application/json")
            if answer.status != 200:
                raise ValueError(f"HTTP {answer.status}")
            entries = json.loads(answer.body).get("attestations")
            if not isinstance(entries, list):
                raise ValueError("not an attestations document")
            bundles = [entry["bundle"] for entry in entries
                       if str(entry.get("predicateType", "")).startswith(SLSA_PREFIX)]
            if not bundles:
                raise ValueError("no SLSA provenance among the attestations")
            if self._trust is None:
                self._trust = TrustRoot.named(self.trust_setting)
            for bundle in bundles:
                verify_bundle(json.dumps(bundle), sha256, purl(name, version), policy,
                              self._trust, artifact_sha512=sha512, now=now)
        except Exception as err:  # any failure: the tarball counts as unsigned
            log.warning("upstream %s: provenance of %s@%s does not verify (%s: %s)",
                        self.http.upstream.name, name, version[:64], err.__class__.__name__,
                        str(err)[:200])
            return False
        return True


def repository_policy(repository: object) -> GenericIdentity:
    """Any GitHub Actions workflow of the GitHub repository a manifest's ``repository``
    names (a URL string or ``{"url": ...}``); raises ``ValueError`` for anything else."""
    url = repository.get("url") if isinstance(repository, dict) else repository
    match = _GITHUB_REPO.match(url.strip()) if isinstance(url, str) else None
    if match is None:
        raise ValueError("the manifest names no GitHub repository to check provenance against")
    owner, repo = (match.group(1), match.group(2)) if match.group(1) else \
        (match.group(3), match.group(4))
    return GenericIdentity(
        san_regex=f"https://github\\.com/{re.escape(owner)}/{re.escape(repo)}/.+",
        issuer=GITHUB_ACTIONS_ISSUER)


def purl(name: str, version: str) -> str:
    """The in-toto subject of npm provenance: ``pkg:npm/%40acme/widget@1.0.0``."""
    return f"pkg:npm/{name.replace('@', '%40', 1) if name.startswith('@') else name}@{version}"
