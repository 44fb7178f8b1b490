"""Online transparency-log confirmation of Sigstore bundles on publish.

    log_check = build_log_check(settings.rekor_url, settings.rekor_mode, trust, timeout=5.0)
    verifier = RegistryEvidenceVerifier(trust, log_check=log_check)   # None when "off"

Offline verification proves a bundle's entry was *signed* by the log; only the log itself can
say the entry was *integrated* (a split-view or forged-tree entry passes offline checks). With
`rekor_mode` ``fail_closed`` or ``fail_open`` and a `rekor_url`, every Sigstore publish asks
the log for the bundle's entry (`signing.rekor.RekorClient.confirm_bundle_entry`) and requires
the very same body, integrated time, log id and index, with a verified inclusion proof.

Failures: an entry the log does not hold (or holds differently) raises
`signing.errors.TransparencyLogError` (code ``tlog_invalid``; the verifier turns it into a
400). A log that cannot be reached raises `RekorUnreachable` (503, ``rekor_unavailable``) in
fail-closed mode; in fail-open mode the publish is accepted and a loud warning is logged.
"""

from __future__ import annotations

import logging

from app.trust.errors import rekor_unreachable
from signing.errors import RekorUnavailable
from signing.rekor import RekorClient, RekorMode
from signing.sigstore import VerifiedSigstore
from signing.trust import TrustRoot

log = logging.getLogger("vouch.rekor")

DEFAULT_TIMEOUT_SECONDS = 5.0


class RekorLogCheck:
    """A `LogCheck` for `RegistryEvidenceVerifier`: confirms each bundle's entry online."""

    def __init__(self, client: RekorClient) -> None:
        if client.mode == "off":
            raise ValueError("a Rekor log check with mode 'off' would check nothing")
        self.client = client

    @property
    def mode(self) -> RekorMode:
        return self.client.mode

    def __call__(self, bundle: bytes, verified: VerifiedSigstore) -> None:
        """Raises `TransparencyLogError` (entry missing or different), `RekorUnreachable`
        (fail-closed outage) or `MalformedSignature`; returns when confirmed or fail-open."""
        try:
            result = self.client.confirm_bundle_entry(bundle)
        except RekorUnavailable as err:
            raise rekor_unreachable(err, verified.log_index) from err
        if result.status == "unavailable":
            log.warning(
                "INSECURE: Rekor is unreachable; accepting a Sigstore publish WITHOUT online "
                "log confirmation (VOUCH_REKOR_MODE=fail_open), identity %s, log index %s: %s",
                verified.identity, verified.log_index, result.reason)
        elif result.status == "skipped":
            log.info("Rekor confirmation skipped for log index %s: %s", verified.log_index,
                     result.reason)

    def close(self) -> None:
        self.client.close()


def build_log_check(rekor_url: str | None, mode: RekorMode, trust: TrustRoot, *,
                    timeout: float = DEFAULT_TIMEOUT_SECONDS) -> RekorLogCheck | None:
    """The log check the settings ask for, or None when lookups are off.

    Raises `ValueError` when a mode other than "off" is chosen without a URL (a setting that
    would otherwise silently check nothing)."""
    if mode == "off":
        return None
    if not rekor_url:
        raise ValueError(f"VOUCH_REKOR_MODE={mode} needs VOUCH_REKOR_URL")
    return RekorLogCheck(RekorClient(rekor_url, trust=trust, mode=mode, timeout=timeout))
