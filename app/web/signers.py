"""How a version was signed, in words a person can check: who, and how it was verified.

    view = describe_signer(doc.signer, key_owner="alice")   # None for an unsigned version
    view.method_label, view.identity, view.issuer, view.log_index, view.fingerprint

The recorded identity is a JSON object whose keys depend on the verifier. Sigstore: the
certificate identity (``identity``, ``san`` or ``subject``), its ``issuer`` and GitHub claims
(top level or under ``github``); GPG: the key ``fingerprint``, the signing subkey, the key's
user id and ``key_owner_id`` (the registry account that registered the key). A GPG signer is
shown as that *registry account* (``key_owner``) with the fingerprint: a key's user id is chosen
by whoever made the key (anyone can make a key that says "Alice"), so it is shown only as a
secondary, labelled claim. Claims are shown under words a person reads ("Repository",
"Workflow"); internal fields (``entry_kind``, ``key_owner_id``) are not shown, and any other
claim gets a readable label, so nothing the registry verified is hidden. Never raises on
unexpected shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from app.publishing.schemas import SignerPublic

_IDENTITY_KEYS = ("identity", "san", "subject")
_USER_KEYS = ("uid", "user_id", "email")
#: Fields that are bookkeeping, not claims a reader checks.
_HIDDEN = {"entry_kind", "key_owner_id", "predicate_type"}
#: Readable labels; the key is the claim's path (``github.ref``) or its last part.
_LABELS = {
    "repository": "Repository", "workflow_ref": "Workflow",
    "job_workflow_ref": "Workflow that signed (reusable workflows)", "ref": "Git ref",
    "sha": "Commit", "trigger": "Triggered by", "run_invocation_uri": "Workflow run",
    "repository_owner_id": "Repository owner (GitHub account id)",
    "signing_key": "Signing subkey",
}
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
    key_owner: str | None = None  # GPG: the registry account that registered the key
    key_uid: str | None = None  # GPG: the key's self-chosen user id (a claim, not an account)
    public_log: bool = True  # the registry trusts Sigstore's public-good log (linkable)

    @property
    def signed_at_label(self) -> str | None:
        """Sigstore: the transparency log's time ("Signed at"); GPG signatures carry only the
        signer's own clock, so no time is shown for them."""
        return "Signed at" if self.method == "sigstore" and self.integrated_time else None

    @property
    def rekor_url(self) -> str | None:
        """Public Rekor search for this entry; only when the registry trusts Sigstore's
        public-good log (a staging or private log's index means another entry there)."""
        if self.method != "sigstore" or self.log_index is None or not self.public_log:
            return None
        return f"{REKOR_SEARCH}{self.log_index}"


def _first(identity: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = identity.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _label(path: str) -> str:
    last = path.rsplit(".", 1)[-1]
    return _LABELS.get(path) or _LABELS.get(last) or last.replace("_", " ").capitalize()


def _flatten(identity: dict[str, Any], used: set[str]) -> list[tuple[str, str]]:
    details: list[tuple[str, str]] = []
    for key, value in sorted(identity.items()):
        if key in used or key in _HIDDEN or value is None:
            continue
        if isinstance(value, dict):
            details += [(_label(k), str(v)) for k, v in sorted(value.items())
                        if v is not None and k not in _HIDDEN
                        and not isinstance(v, dict | list)]
        elif isinstance(value, list):
            details.append((_label(key), ", ".join(str(v) for v in value)))
        else:
            details.append((_label(key), str(value)))
    return details


def describe_signer(signer: SignerPublic | None, key_owner: str | None = None, *,
                    public_log: bool = True) -> SignerView | None:
    """The signer of one version as shown on the package page; ``None`` if unsigned.
    ``key_owner``: the account name behind a GPG signature's ``key_owner_id``;
    ``public_log``: whether log indexes are entries of the public-good Rekor."""
    if signer is None:
        return None
    identity = signer.identity if isinstance(signer.identity, dict) else {}
    method = signer.method
    uid = None
    if method == "gpg":
        fingerprint = _first(identity, ("fingerprint",))
        uid = _first(identity, _USER_KEYS)
        who = key_owner
        used = {"fingerprint", *_USER_KEYS}
        if identity.get("signing_key") == fingerprint:
            used.add("signing_key")
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
        details=_flatten(identity, used), key_owner=key_owner if method == "gpg" else None,
        key_uid=uid, public_log=public_log,
    )
