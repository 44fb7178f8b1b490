"""A whole private Sigstore instance for tests: CA + CT log + Rekor log + signer + trust root.

Example::

    inst = SigstoreInstance.create()
    ident = GitHubIdentity(repository="acme/widget", workflow="release.yml",
                           ref="refs/tags/v1.0.0")
    bundle_json = inst.sign_artifact(b"data", ident)                  # hashedrekord, v0.3
    dsse_json = inst.sign_artifact(b"data", ident, kind="dsse", name="widget-1.0.0.tgz")
    bad = inst.sign_artifact(b"data", ident, fault=Fault.CERT_EXPIRED_AT_LOG_TIME)
    root_path = inst.write_trusted_root(tmp_path / "trusted_root.json")
    # Verifier(trusted_root=TrustedRoot.from_file(str(root_path))).verify_artifact(...)

Every signature uses a fresh P-256 key and a fresh 10-minute certificate, as keyless signing
does. Time comes from `signed_at` (default: the instance clock), so tests can sign "yesterday"
(up to 365 days back) without sleeping. `Fault` makes the bad cases; what each one does, and
whether offline sigstore-python verification catches it, is documented on the enum.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

from .bundle import bundle_document
from .ca import CA_BACKDATE, LEAF_VALIDITY, FulcioCA
from .ctlog import CTLog
from .entries import (
    INTOTO_PAYLOAD_TYPE,
    b64,
    dsse_proposal,
    hashedrekord_proposal,
    pae,
    prepare_entry,
)
from .identity import GitHubIdentity
from .tlog import InclusionProof, LogEntry, TransparencyLog
from .trust_root import client_trust_config_document, trusted_root_document

if TYPE_CHECKING:
    from sigstore.models import TrustedRoot

    from .server import RekorServer

SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
DEFAULT_REKOR_URL = "http://rekor.sigstore.local"


class Fault(StrEnum):
    """Deliberate defects for negative tests. "offline" = sigstore-python's `Verifier`."""

    #: The log's integrated time (signed in the SET) is 1 min after the cert's notAfter.
    #: Offline: rejected ("expired at time of signing").
    CERT_EXPIRED_AT_LOG_TIME = "cert_expired_at_log_time"
    #: The integrated time is 1 min before the cert's notBefore. Offline: rejected (chain).
    CERT_NOT_YET_VALID_AT_LOG_TIME = "cert_not_yet_valid_at_log_time"
    #: A correctly signed entry + proof for a forked tree that is never integrated (split
    #: view). Offline: ACCEPTED (nothing offline can tell); the Rekor API answers 404 for it.
    UNLOGGED_ENTRY = "unlogged_entry"
    #: One inclusion-proof hash flipped (the root hash, for a 1-leaf tree). Offline: rejected.
    TAMPERED_INCLUSION_PROOF = "tampered_inclusion_proof"
    #: The checkpoint signature flipped. Offline: rejected.
    TAMPERED_CHECKPOINT = "tampered_checkpoint"
    #: The signed entry timestamp flipped. Offline: rejected.
    TAMPERED_SET = "tampered_set"
    #: The leaf comes from a CA that is not in the trusted root. Offline: rejected.
    UNTRUSTED_CA = "untrusted_ca"
    #: The embedded SCT is signed by a CT key not in the trusted root. Offline: rejected.
    UNTRUSTED_CT_LOG = "untrusted_ct_log"
    #: The leaf carries no SCT at all. Offline: rejected.
    NO_SCT = "no_sct"


@dataclass(frozen=True)
class SigningResult:
    """A bundle plus what produced it (for assertions against the log)."""

    bundle_json: bytes
    certificate: x509.Certificate
    entry: LogEntry
    entry_id: str
    proof: InclusionProof
    logged: bool

    @property
    def bundle(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.bundle_json)
        return parsed


def _flip_b64(value: str) -> str:
    """Flip one bit of base64 data (keeps it valid base64 of the same length)."""
    import base64

    raw = bytearray(base64.b64decode(value))
    raw[len(raw) // 2] ^= 0x01
    return base64.b64encode(bytes(raw)).decode("ascii")


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class SigstoreInstance:
    """Keys and logs of one private instance; safe to share across threads."""

    ca: FulcioCA
    ct_log: CTLog
    tlog: TransparencyLog
    created_at: datetime
    clock: Callable[[], datetime] = _utcnow
    rekor_url: str = DEFAULT_REKOR_URL
    _rogue_ca: FulcioCA | None = field(default=None, repr=False)
    _rogue_ct: CTLog | None = field(default=None, repr=False)
    _rogue_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def create(
        cls,
        *,
        intermediate: bool = True,
        clock: Callable[[], datetime] = _utcnow,
        name: str = "sigstore-local",
    ) -> SigstoreInstance:
        """A fresh instance: new keys, empty log. About 5 ms."""
        now = clock()
        return cls(
            ca=FulcioCA.generate(now, intermediate=intermediate, name=name),
            ct_log=CTLog.generate(),
            tlog=TransparencyLog.generate(),
            created_at=now,
            clock=clock,
        )

    # -- trust material ---------------------------------------------------------------------
    @property
    def valid_from(self) -> datetime:
        return (self.created_at - CA_BACKDATE).replace(microsecond=0)

    def trusted_root(self) -> dict[str, Any]:
        """The trusted root document (dict) naming this instance's CA, CT log and Rekor."""
        return trusted_root_document(
            ca_chain=self.ca.chain,
            ct_key=self.ct_log.public_key,
            tlog_key=self.tlog.public_key,
            valid_from=self.valid_from,
            rekor_url=self.rekor_url,
        )

    def trusted_root_json(self) -> str:
        return json.dumps(self.trusted_root(), indent=2)

    def write_trusted_root(self, path: Path) -> Path:
        path.write_text(self.trusted_root_json(), encoding="utf-8")
        return path

    def client_trust_config_json(self) -> str:
        """For ``ClientTrustConfig.from_json`` or ``sigstore --trust-config`` (verify only)."""
        return json.dumps(client_trust_config_document(self.trusted_root()), indent=2)

    def sigstore_trusted_root(self) -> TrustedRoot:
        """This instance's root loaded as sigstore-python's `TrustedRoot`."""
        from sigstore.models import TrustedRoot
        from sigstore_models.trustroot.v1 import TrustedRoot as _Inner

        return TrustedRoot(_Inner.from_json(self.trusted_root_json()))

    # -- the Rekor HTTP API ---------------------------------------------------------------
    def serve(self) -> RekorServer:
        """Start the Rekor v1 API on 127.0.0.1 (a free port); `rekor_url` then points at it.

        Stop it with ``.stop()`` or use it as a context manager.
        """
        from .server import RekorServer

        server = RekorServer(self.tlog)
        self.rekor_url = server.start()
        return server

    # -- signing ----------------------------------------------------------------------------
    def _rogue(self, now: datetime) -> tuple[FulcioCA, CTLog]:
        """A CA and a CT log that the trusted root does not name (made once, lazily)."""
        with self._rogue_lock:
            if self._rogue_ca is None or self._rogue_ct is None:
                self._rogue_ca = FulcioCA.generate(now, name="rogue")
                self._rogue_ct = CTLog.generate()
            return self._rogue_ca, self._rogue_ct

    def issue_certificate(
        self,
        identity: GitHubIdentity,
        public_key: ec.EllipticCurvePublicKey,
        *,
        not_before: datetime,
        fault: Fault | None = None,
        validity: timedelta = LEAF_VALIDITY,
    ) -> x509.Certificate:
        """A Fulcio-like leaf for `identity` (honouring the CA/SCT faults)."""
        ca, ct_log = self.ca, self.ct_log
        ct: CTLog | None = ct_log
        if fault is Fault.UNTRUSTED_CA:
            ca = self._rogue(not_before)[0]
        elif fault is Fault.UNTRUSTED_CT_LOG:
            ct = self._rogue(not_before)[1]
        elif fault is Fault.NO_SCT:
            ct = None
        return ca.issue(public_key, identity, not_before=not_before, ct_log=ct, validity=validity)

    def sign_artifact(
        self,
        data: bytes,
        identity: GitHubIdentity,
        *,
        kind: Literal["hashedrekord", "dsse"] = "hashedrekord",
        bundle_version: Literal["0.1", "0.2", "0.3"] = "0.3",
        name: str = "artifact",
        fault: Fault | None = None,
        signed_at: datetime | None = None,
        statement: dict[str, Any] | None = None,
    ) -> bytes:
        """Sign `data` as `identity` and return the bundle JSON (bytes). See `sign`."""
        return self.sign(
            data, identity, kind=kind, bundle_version=bundle_version, name=name, fault=fault,
            signed_at=signed_at, statement=statement,
        ).bundle_json

    def sign(
        self,
        data: bytes,
        identity: GitHubIdentity,
        *,
        kind: Literal["hashedrekord", "dsse"] = "hashedrekord",
        bundle_version: Literal["0.1", "0.2", "0.3"] = "0.3",
        name: str = "artifact",
        fault: Fault | None = None,
        signed_at: datetime | None = None,
        statement: dict[str, Any] | None = None,
    ) -> SigningResult:
        """Sign `data` and log the entry; returns the bundle and the log entry.

        ``kind="dsse"`` signs an in-toto Statement v1 whose one subject is `name` with the
        sha256 of `data` (or `statement`, verbatim, to test odd statements). The entry is
        appended to this instance's log unless ``fault=Fault.UNLOGGED_ENTRY``.
        Raises `ValueError` for an unknown kind or bundle version.
        """
        now = (signed_at or self.clock()).astimezone(UTC).replace(microsecond=0)
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self.issue_certificate(identity, key.public_key(), not_before=now, fault=fault)
        digest = hashlib.sha256(data).digest()
        content: dict[str, Any]
        if kind == "hashedrekord":
            signature = key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
            proposal = hashedrekord_proposal(digest, signature, cert)
            content = {
                "message_signature": {
                    "messageDigest": {"algorithm": "SHA2_256", "digest": b64(digest)},
                    "signature": b64(signature),
                }
            }
        elif kind == "dsse":
            envelope = self._dsse_envelope(key, statement or _statement(name, digest, identity))
            proposal = dsse_proposal(json.dumps(envelope), cert)
            content = {"dsse_envelope": envelope}
        else:
            raise ValueError(f"unknown kind {kind!r}; expected 'hashedrekord' or 'dsse'")

        prepared = prepare_entry(proposal)
        integrated_time = _integrated_time(now, cert, fault)
        if fault is Fault.UNLOGGED_ENTRY:
            entry, proof = self.tlog.forge(prepared, integrated_time=integrated_time)
        else:
            entry = self.tlog.append(prepared, integrated_time=integrated_time)
            proof = self.tlog.inclusion_proof(entry)
        tlog_entry = _apply_log_fault(self.tlog.bundle_entry(entry, proof), fault)
        chain = self.ca.chain[:-1] if fault is not Fault.UNTRUSTED_CA else []
        doc = bundle_document(bundle_version, cert, chain=chain, tlog_entry=tlog_entry, **content)
        return SigningResult(
            bundle_json=json.dumps(doc, indent=2).encode(),
            certificate=cert,
            entry=entry,
            entry_id=self.tlog.entry_id(entry),
            proof=proof,
            logged=fault is not Fault.UNLOGGED_ENTRY,
        )

    @staticmethod
    def _dsse_envelope(
        key: ec.EllipticCurvePrivateKey, statement: dict[str, Any]
    ) -> dict[str, Any]:
        payload = json.dumps(statement, separators=(",", ":")).encode()
        sig = key.sign(pae(INTOTO_PAYLOAD_TYPE, payload), ec.ECDSA(hashes.SHA256()))
        return {
            "payload": b64(payload),
            "payloadType": INTOTO_PAYLOAD_TYPE,
            "signatures": [{"sig": b64(sig)}],
        }


def _statement(name: str, digest: bytes, identity: GitHubIdentity) -> dict[str, Any]:
    """An in-toto Statement v1 with SLSA provenance v1 shaped like GitHub's."""
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": name, "digest": {"sha256": digest.hex()}}],
        "predicateType": SLSA_PROVENANCE_V1,
        "predicate": {
            "buildDefinition": {
                "buildType": "https://actions.github.io/buildtypes/workflow/v1",
                "externalParameters": {
                    "workflow": {
                        "ref": identity.ref,
                        "repository": identity.source_repository_uri,
                        "path": f".github/workflows/{identity.workflow}",
                    }
                },
            },
            "runDetails": {"builder": {"id": identity.san}},
        },
    }


def _integrated_time(now: datetime, cert: x509.Certificate, fault: Fault | None) -> int:
    if fault is Fault.CERT_EXPIRED_AT_LOG_TIME:
        return int(cert.not_valid_after_utc.timestamp()) + 60
    if fault is Fault.CERT_NOT_YET_VALID_AT_LOG_TIME:
        return int(cert.not_valid_before_utc.timestamp()) - 60
    return int(now.timestamp()) + 1  # logged a second after the certificate was issued


def _apply_log_fault(entry: dict[str, Any], fault: Fault | None) -> dict[str, Any]:
    proof = entry["inclusionProof"]
    if fault is Fault.TAMPERED_INCLUSION_PROOF:
        if proof["hashes"]:
            proof["hashes"][0] = _flip_b64(proof["hashes"][0])
        else:
            proof["rootHash"] = _flip_b64(proof["rootHash"])
    elif fault is Fault.TAMPERED_CHECKPOINT:
        note, _, sig_line = proof["checkpoint"]["envelope"].partition("\n\n")
        dash_name, _, sig = sig_line.rstrip("\n").rpartition(" ")
        proof["checkpoint"]["envelope"] = f"{note}\n\n{dash_name} {_flip_b64(sig)}\n"
    elif fault is Fault.TAMPERED_SET:
        promise = entry["inclusionPromise"]
        promise["signedEntryTimestamp"] = _flip_b64(promise["signedEntryTimestamp"])
    return entry
