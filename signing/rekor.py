"""A small Rekor v1 API client: confirm a bundle's entry online, list who signed a digest.

    >>> from signing.rekor import RekorClient
    >>> from signing.trust import TrustRoot
    >>> rekor = RekorClient("https://rekor.sigstore.dev", trust=TrustRoot.public_good())
    >>> rekor.confirm_bundle_entry(bundle_bytes).status                # doctest: +SKIP
    'confirmed'
    >>> [s.identity for s in rekor.entries_for_digest(sha256_hex)]     # doctest: +SKIP
    ['https://github.com/octo/widgets/.github/workflows/release.yml@refs/tags/v1.0.0']

Every entry the log returns is checked before use: its UUID is its leaf hash, its inclusion
proof leads to the root of a checkpoint signed by a log key of the trust root, and its SET
verifies. `confirm_bundle_entry` also requires the same body, integrated time, log id and
index as the bundle carries.

`mode` decides what an *unreachable* log means: "fail_closed" (default) raises
`RekorUnavailable`; "fail_open" reports status "unavailable" / returns no entries (the caller
must log it); "off" makes no request at all. A log that answers with a *different or
unprovable* entry always raises `TransparencyLogError`, whatever the mode.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
import rfc8785
from cryptography import x509

from signing.bundle import parse_bundle
from signing.errors import MalformedSignature, RekorUnavailable, TransparencyLogError
from signing.fulcio import certificate_claims
from signing.merkle import leaf_hash, root_from_inclusion_proof, verify_checkpoint
from signing.merkle import verify_signature as verify_with_key
from signing.trust import TrustRoot

_logger = logging.getLogger(__name__)
RekorMode = Literal["off", "fail_closed", "fail_open"]
MAX_ENTRIES_PER_DIGEST = 50
_UUID_RE = re.compile(r"^(?:[0-9a-f]{16})?[0-9a-f]{64}$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class RekorEntry:
    """A log entry whose inclusion in the log has been verified."""

    uuid: str
    log_index: int
    log_id: str  # hex
    integrated_time: datetime
    body: bytes
    tree_size: int
    root_hash: bytes


@dataclass(frozen=True)
class LogConfirmation:
    status: Literal["confirmed", "skipped", "unavailable"]
    entry: RekorEntry | None
    reason: str = ""


@dataclass(frozen=True)
class DigestSigner:
    """Who a logged entry for a digest names as signer (the certificate in the entry; its
    chain is not re-verified here, only the entry's inclusion in the log)."""

    uuid: str
    log_index: int
    integrated_time: datetime
    kind: str
    identity: str | None
    issuer: str | None


class RekorClient:
    """See the module docstring. `transport` is for tests (an `httpx.MockTransport`)."""

    def __init__(
        self,
        base_url: str,
        *,
        trust: TrustRoot,
        mode: RekorMode = "fail_closed",
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if mode not in ("off", "fail_closed", "fail_open"):
            raise ValueError(f"unknown Rekor mode {mode!r}")
        self.mode: RekorMode = mode
        self.trust = trust
        self._client = httpx.Client(
            base_url=base_url.rstrip("/") + "/api/v1",
            timeout=httpx.Timeout(timeout),
            transport=transport,
            headers={"Accept": "application/json"},
            follow_redirects=False,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> RekorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport -----------------------------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        """JSON body of a 2xx answer; None for 404. Raises `RekorUnavailable` otherwise."""
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as err:
            raise RekorUnavailable(f"Rekor is unreachable: {err}") from err
        if response.status_code == 404:
            return None
        if response.status_code >= 300:
            raise RekorUnavailable(f"Rekor answered HTTP {response.status_code} for {path}")
        try:
            return response.json()
        except ValueError as err:
            raise RekorUnavailable(f"Rekor answered non-JSON for {path}") from err

    # -- lookups -------------------------------------------------------------------------

    def get_entry(self, uuid_or_index: str | int) -> RekorEntry:
        """Fetch one entry by UUID or log index and verify its inclusion proof.

        Raises `TransparencyLogError` if the log has no such entry or its proof fails,
        `RekorUnavailable` if the log cannot be reached (in every mode but "off"), and
        `RekorUnavailable` in mode "off" too, since nothing can be fetched."""
        if self.mode == "off":
            raise RekorUnavailable("Rekor lookups are turned off")
        if isinstance(uuid_or_index, int):
            if uuid_or_index < 0:
                raise TransparencyLogError("log index must not be negative")
            answer = self._request("GET", "/log/entries", params={"logIndex": uuid_or_index})
        else:
            uuid = uuid_or_index.lower()
            if not _UUID_RE.match(uuid):
                raise TransparencyLogError(f"not a Rekor entry UUID: {uuid_or_index!r}")
            answer = self._request("GET", f"/log/entries/{uuid}")
        if answer is None:
            raise TransparencyLogError(f"the log has no entry {uuid_or_index}")
        return self._verified_entry(answer)

    def _verified_entry(self, answer: Any) -> RekorEntry:
        if isinstance(answer, list) and len(answer) == 1:
            answer = answer[0]
        if not isinstance(answer, dict) or len(answer) != 1:
            raise TransparencyLogError("Rekor answered an unexpected entry shape")
        uuid, raw = next(iter(answer.items()))
        try:
            body = base64.b64decode(raw["body"], validate=True)
            proof = raw["verification"]["inclusionProof"]
            set_b64 = raw["verification"]["signedEntryTimestamp"]
            entry = RekorEntry(
                uuid=str(uuid).lower(),
                log_index=int(raw["logIndex"]),
                log_id=str(raw["logID"]).lower(),
                integrated_time=datetime.fromtimestamp(int(raw["integratedTime"]), tz=UTC),
                body=body,
                tree_size=int(proof["treeSize"]),
                root_hash=bytes.fromhex(proof["rootHash"]),
            )
            hashes = [bytes.fromhex(h) for h in proof["hashes"]]
            proof_index = int(proof["logIndex"])
            checkpoint = str(proof["checkpoint"])
            set_sig = base64.b64decode(set_b64, validate=True)
        except (KeyError, TypeError, ValueError, binascii.Error) as err:
            raise TransparencyLogError(f"Rekor entry is malformed: {err}") from err

        leaf = leaf_hash(body)
        if not entry.uuid.endswith(leaf.hex()):
            raise TransparencyLogError("entry UUID is not the hash of its body")
        root = root_from_inclusion_proof(proof_index, entry.tree_size, leaf, hashes)
        if not hmac.compare_digest(root, entry.root_hash):
            raise TransparencyLogError("inclusion proof does not lead to the stated root hash")
        signed = verify_checkpoint(checkpoint, self.trust.tlog_keys())
        if signed.tree_size != entry.tree_size or signed.root_hash != entry.root_hash:
            raise TransparencyLogError("checkpoint does not commit to the proof's root")
        self._verify_set(entry, body, set_sig)
        return entry

    def _verify_set(self, entry: RekorEntry, body: bytes, signature: bytes) -> None:
        try:
            key_id = bytes.fromhex(entry.log_id)
        except ValueError as err:
            raise TransparencyLogError("log id is not hex") from err
        key = self.trust.tlog_key(key_id)
        if key is None:
            raise TransparencyLogError("entry's log id is not a log of the trust root")
        payload = rfc8785.dumps({
            "body": base64.b64encode(body).decode(),
            "integratedTime": int(entry.integrated_time.timestamp()),
            "logID": entry.log_id,
            "logIndex": entry.log_index,
        })
        if not verify_with_key(key, signature, payload):
            raise TransparencyLogError("signed entry timestamp (SET) does not verify")

    def confirm_bundle_entry(self, bundle: bytes | str) -> LogConfirmation:
        """Confirm online that the log holds exactly the entry the bundle carries.

        Returns status "confirmed" (with the entry), "skipped" (mode "off", or a Rekor v2
        entry, which the v1 API cannot serve) or "unavailable" (fail-open, log unreachable).
        Raises `TransparencyLogError` when the log's entry differs or is missing,
        `RekorUnavailable` when unreachable in fail-closed mode, `MalformedSignature` for
        a bundle that does not parse."""
        parsed = parse_bundle(bundle)
        if self.mode == "off":
            return LogConfirmation("skipped", None, "Rekor lookups are turned off")
        if parsed.kind_version == "0.0.2":
            return LogConfirmation("skipped", None, "Rekor v2 entries have no v1 lookup API")
        try:
            entry = self.get_entry(parsed.log_index)
        except RekorUnavailable as err:
            if self.mode == "fail_open":
                _logger.warning("Rekor unavailable, accepting without online check: %s", err)
                return LogConfirmation("unavailable", None, str(err))
            raise
        tlog = parsed.document["verificationMaterial"]["tlogEntries"][0]
        try:
            bundle_body = base64.b64decode(tlog["canonicalizedBody"], validate=True)
        except (KeyError, ValueError, binascii.Error) as err:
            raise MalformedSignature("bundle log entry body is malformed") from err
        if entry.body != bundle_body:
            raise TransparencyLogError("the log's entry at this index has another body")
        if parsed.integrated_time is None or entry.integrated_time != parsed.integrated_time:
            raise TransparencyLogError("the log's entry has another integrated time")
        if entry.log_id != parsed.log_id.hex() or entry.log_index != parsed.log_index:
            raise TransparencyLogError("the log's entry has another log id or index")
        return LogConfirmation("confirmed", entry)

    def search_by_digest(self, sha256: str) -> list[str]:
        """UUIDs of every entry logged for this artifact digest (`POST /index/retrieve`).

        Mode "off" and fail-open outages return []. Raises `RekorUnavailable` (fail-closed)."""
        digest = sha256.lower()
        if not _SHA256_RE.match(digest):
            raise ValueError("sha256 must be 64 hexadecimal characters")
        if self.mode == "off":
            return []
        try:
            answer = self._request("POST", "/index/retrieve", json={"hash": f"sha256:{digest}"})
        except RekorUnavailable as err:
            if self.mode == "fail_open":
                _logger.warning("Rekor unavailable, digest search skipped: %s", err)
                return []
            raise
        if answer is None:
            return []
        if not isinstance(answer, list) or not all(isinstance(u, str) for u in answer):
            raise RekorUnavailable("Rekor answered an unexpected search result")
        return [u.lower() for u in answer]

    def entries_for_digest(self, sha256: str) -> list[DigestSigner]:
        """Who signed this digest, per the log (at most `MAX_ENTRIES_PER_DIGEST` entries,
        oldest first). Each entry's inclusion is verified; entries that fail are skipped."""
        signers: list[DigestSigner] = []
        for uuid in self.search_by_digest(sha256)[:MAX_ENTRIES_PER_DIGEST]:
            try:
                entry = self.get_entry(uuid)
            except RekorUnavailable:
                if self.mode == "fail_open":
                    continue
                raise
            except TransparencyLogError as err:
                _logger.warning("skipping unprovable Rekor entry %s: %s", uuid, err)
                continue
            signers.append(_signer_of(entry))
        return sorted(signers, key=lambda s: (s.integrated_time, s.log_index))


def _signer_of(entry: RekorEntry) -> DigestSigner:
    kind, identity, issuer = "unknown", None, None
    try:
        body = json.loads(entry.body)
        kind = str(body.get("kind", "unknown"))
        spec = body.get("spec") or {}
        if kind == "hashedrekord":
            pem_b64 = spec["signature"]["publicKey"]["content"]
        elif kind == "dsse":
            pem_b64 = spec["signatures"][0]["verifier"]
        else:
            pem_b64 = None
        if pem_b64:
            cert = x509.load_pem_x509_certificate(base64.b64decode(pem_b64))
            claims = certificate_claims(cert)
            identity, issuer = claims.identity, claims.issuer
    except (ValueError, KeyError, IndexError, TypeError, binascii.Error):
        pass  # a key-based or odd entry: reported with no identity
    return DigestSigner(entry.uuid, entry.log_index, entry.integrated_time, kind, identity,
                        issuer)
