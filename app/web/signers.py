"""How a version was signed, in words a person can check: who, and how it was verified.

    view = describe_signer(doc.signer)     # None for an unsigned version
    view.method_label, view.identity, view.issuer, view.log_index, view.fingerprint

The recorded identity is a JSON object whose keys depend on the verifier. Sigstore: the
certificate identity (``identity``, ``san`` or ``subject``), its ``issuer`` and GitHub claims
(top level or under ``github``); GPG: the key ``fingerprint`` and optionally a user id
(``uid``, ``user_id`` or ``email``). Every other scalar claim is listed in ``details`` so that
nothing the registry verified is hidden. Never raises on unexpected shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.publishing.schemas import SignerPublic

_IDENTITY_KEYS = ("identity", "san", "subject")
_USER_KEYS = ("uid", "user_id", "email")
_METHOD_LABELS = {"sigstore": "Sigstore", "gpg": "GPG"}
REKOR_SEARCH = "https://search.sigstore.dev/?logIndex="


@dataclass(frozen=True)
class SignerView:
    method: str
    method_label: str
    identity: str | None
    issuer: str | None
    fingerprint: str | None
    log_index: int | None
    integrated_time: datetime | None
    verified_at: datetime
    details: list[tuple[str, str]] = field(default_factory=list)

    @property
    def rekor_url(self) -> str | None:
        """Public Rekor search for this entry (Sigstore's public-good log)."""
        if self.method != "sigstore" or self.log_index is None:
            return None
        return f"{REKOR_SEARCH}{self.log_index}"


def _first(identity: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = identity.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _flatten(identity: dict[str, Any], used: set[str]) -> list[tuple[str, str]]:
    details: list[tuple[str, str]] = []
    for key, value in sorted(identity.items()):
        if key in used or value is None:
            continue
        if isinstance(value, dict):
            details += [(f"{key}.{k}", str(v)) for k, v in sorted(value.items())
                        if v is not None and not isinstance(v, dict | list)]
        elif isinstance(value, list):
            details.append((key, ", ".join(str(v) for v in value)))
        else:
            details.append((key, str(value)))
    return details


def describe_signer(signer: SignerPublic | None) -> SignerView | None:
    """The signer of one version as shown on the package page; ``None`` if unsigned."""
    if signer is None:
        return None
    identity = signer.identity if isinstance(signer.identity, dict) else {}
    method = signer.method
    if method == "gpg":
        fingerprint = _first(identity, ("fingerprint",))
        who = _first(identity, _USER_KEYS)
        used = {"fingerprint", *_USER_KEYS}
        issuer = None
    else:
        fingerprint = None
        who = _first(identity, _IDENTITY_KEYS)
        issuer = _first(identity, ("issuer",))
        used = {*_IDENTITY_KEYS, "issuer"}
    return SignerView(
        method=method, method_label=_METHOD_LABELS.get(method, method),
        identity=who, issuer=issuer, fingerprint=fingerprint, log_index=signer.log_index,
        integrated_time=signer.integrated_time, verified_at=signer.verified_at,
        details=_flatten(identity, used),
    )
