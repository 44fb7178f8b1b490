"""A Rekor-like transparency log: Merkle tree, signed checkpoints, SETs, Rekor v1 JSON shapes.

Example::

    log = TransparencyLog.generate()
    entry = log.append(prepare_entry(proposed), integrated_time=1_700_000_000)
    proof = log.inclusion_proof(entry)          # against the current tree, with a checkpoint
    log.rekor_response(entry)                   # {entry_id: {...}} as GET /api/v1/log/entries
    log.bundle_entry(entry, proof)              # one bundle `tlogEntries` element

Formats follow Rekor v1 as sigstore-python 4.5.1 checks them offline:

* log id = SHA-256 of the log key's DER SPKI; entry UUID = the RFC 6962 leaf hash of the
  body; entry id = 16 hex digits of tree id + UUID (what Rekor returns as response keys);
* SET = ECDSA-SHA256 over RFC 8785 ``{body, integratedTime, logID (hex), logIndex}``;
* checkpoint = a signed note: ``origin\\nsize\\nb64(root)\\n`` + blank line +
  ``\\u2014 <name> b64(keyid[:4] || sig)\\n``, the signature covering the note text.

`forge` builds a fully signed entry that is *not* appended (a split view): only an online
lookup can tell it is missing. Duplicate bodies raise `DuplicateEntry` (Rekor answers 409).
"""

from __future__ import annotations

import base64
import secrets
import threading
from dataclasses import dataclass
from typing import Any, ClassVar

import rfc8785
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .ctlog import key_id
from .entries import PreparedEntry
from .merkle import MerkleTree, leaf_hash


class DuplicateEntry(Exception):
    """The body is already in the log (Rekor: 409 Conflict)."""

    code: ClassVar[str] = "entry_exists"

    def __init__(self, entry_id: str) -> None:
        super().__init__(f"an equivalent entry already exists in the log: {entry_id}")
        self.entry_id = entry_id


@dataclass(frozen=True)
class LogEntry:
    """One integrated entry (or a forged one that never reached the tree)."""

    index: int
    uuid: str
    kind: str
    api_version: str
    body: bytes
    integrated_time: int
    signed_entry_timestamp: bytes
    index_keys: tuple[str, ...]


@dataclass(frozen=True)
class InclusionProof:
    """An inclusion proof with the signed checkpoint of the tree it proves against."""

    log_index: int
    tree_size: int
    root_hash: bytes
    hashes: tuple[bytes, ...]
    checkpoint: str


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class TransparencyLog:
    """An in-memory, append-only, thread-safe Rekor v1 log with one ECDSA P-256 key."""

    def __init__(
        self, private_key: ec.EllipticCurvePrivateKey, *, name: str = "rekor.sigstore.local",
        tree_id: int | None = None,
    ) -> None:
        self.private_key = private_key
        self.name = name
        self.tree_id = tree_id if tree_id is not None else secrets.randbits(62) + 1
        self._lock = threading.RLock()
        self._tree = MerkleTree()
        self._entries: list[LogEntry] = []
        self._by_uuid: dict[str, LogEntry] = {}
        self._by_key: dict[str, list[LogEntry]] = {}

    @classmethod
    def generate(cls, *, name: str = "rekor.sigstore.local") -> TransparencyLog:
        return cls(ec.generate_private_key(ec.SECP256R1()), name=name)

    # -- identity ---------------------------------------------------------------------------
    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return self.private_key.public_key()

    @property
    def log_id(self) -> bytes:
        return key_id(self.public_key)

    @property
    def origin(self) -> str:
        return f"{self.name} - {self.tree_id}"

    @property
    def tree_id_hex(self) -> str:
        return f"{self.tree_id:016x}"

    def entry_id(self, entry: LogEntry) -> str:
        """The 80-hex entry id Rekor uses as response key: tree id + UUID."""
        return self.tree_id_hex + entry.uuid

    def public_key_pem(self) -> str:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    # -- signing ----------------------------------------------------------------------------
    def _sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data, ec.ECDSA(hashes.SHA256()))

    def sign_entry_timestamp(self, body: bytes, integrated_time: int, log_index: int) -> bytes:
        payload: dict[str, Any] = {
            "body": _b64(body),
            "integratedTime": integrated_time,
            "logID": self.log_id.hex(),
            "logIndex": log_index,
        }
        return self._sign(rfc8785.dumps(payload))

    def sign_checkpoint(self, tree_size: int, root_hash: bytes) -> str:
        note = f"{self.origin}\n{tree_size}\n{_b64(root_hash)}\n"
        signature = self._sign(note.encode())
        return f"{note}\n\u2014 {self.name} {_b64(self.log_id[:4] + signature)}\n"

    # -- writing ----------------------------------------------------------------------------
    def _make_entry(self, prepared: PreparedEntry, index: int, integrated_time: int) -> LogEntry:
        return LogEntry(
            index=index,
            uuid=leaf_hash(prepared.body).hex(),
            kind=prepared.kind,
            api_version=prepared.api_version,
            body=prepared.body,
            integrated_time=integrated_time,
            signed_entry_timestamp=self.sign_entry_timestamp(
                prepared.body, integrated_time, index
            ),
            index_keys=prepared.index_keys,
        )

    def append(self, prepared: PreparedEntry, *, integrated_time: int) -> LogEntry:
        """Integrate an entry; raises `DuplicateEntry` if the same body is already logged."""
        with self._lock:
            uuid = leaf_hash(prepared.body).hex()
            if uuid in self._by_uuid:
                raise DuplicateEntry(self.tree_id_hex + uuid)
            entry = self._make_entry(prepared, len(self._entries), integrated_time)
            self._tree.append(prepared.body)
            self._entries.append(entry)
            self._by_uuid[uuid] = entry
            for key in entry.index_keys:
                self._by_key.setdefault(key, []).append(entry)
            return entry

    def forge(
        self, prepared: PreparedEntry, *, integrated_time: int
    ) -> tuple[LogEntry, InclusionProof]:
        """Sign an entry and a proof for a forked tree without integrating it (a split view).

        Everything in the result is validly signed by this log's key, so offline verification
        accepts it; the entry is absent from `entries`, the index and the HTTP API.
        """
        with self._lock:
            shadow = self._tree.copy()
            index = shadow.append(prepared.body)
            entry = self._make_entry(prepared, index, integrated_time)
            return entry, self._proof(shadow, index, len(shadow))

    # -- reading ----------------------------------------------------------------------------
    @property
    def size(self) -> int:
        with self._lock:
            return len(self._entries)

    def entries(self) -> list[LogEntry]:
        with self._lock:
            return list(self._entries)

    def get_by_index(self, index: int) -> LogEntry | None:
        with self._lock:
            return self._entries[index] if 0 <= index < len(self._entries) else None

    def get_by_uuid(self, uuid_or_entry_id: str) -> LogEntry | None:
        """Look up by 64-hex UUID or 80-hex entry id (whose tree id must be this log's)."""
        text = uuid_or_entry_id.lower()
        if len(text) == 80:
            if text[:16] != self.tree_id_hex:
                return None
            text = text[16:]
        with self._lock:
            return self._by_uuid.get(text)

    def search(self, key: str) -> list[LogEntry]:
        """Entries filed under an index key such as ``sha256:<hex>``."""
        with self._lock:
            return list(self._by_key.get(key.lower(), []))

    def _proof(self, tree: MerkleTree, index: int, size: int) -> InclusionProof:
        root = tree.root(size)
        return InclusionProof(
            log_index=index,
            tree_size=size,
            root_hash=root,
            hashes=tuple(tree.inclusion_proof(index, size)),
            checkpoint=self.sign_checkpoint(size, root),
        )

    def inclusion_proof(self, entry: LogEntry, tree_size: int | None = None) -> InclusionProof:
        """Proof that `entry` is in the tree of `tree_size` leaves (default: the current tree)."""
        with self._lock:
            size = len(self._entries) if tree_size is None else tree_size
            return self._proof(self._tree, entry.index, size)

    def root_hash(self, tree_size: int | None = None) -> bytes:
        with self._lock:
            return self._tree.root(tree_size)

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        with self._lock:
            return self._tree.consistency_proof(first, second)

    def signed_tree_head(self) -> tuple[int, bytes, str]:
        """(size, root hash, signed checkpoint) of the current tree."""
        with self._lock:
            size = len(self._entries)
            root = self._tree.root(size)
            return size, root, self.sign_checkpoint(size, root)

    # -- JSON shapes ------------------------------------------------------------------------
    def log_info(self) -> dict[str, Any]:
        """``GET /api/v1/log``."""
        size, root, checkpoint = self.signed_tree_head()
        return {
            "rootHash": root.hex(),
            "treeSize": size,
            "signedTreeHead": checkpoint,
            "treeID": str(self.tree_id),
            "inactiveShards": [],
        }

    def rekor_response(
        self, entry: LogEntry, proof: InclusionProof | None = None
    ) -> dict[str, Any]:
        """``{entry_id: LogEntry}`` as Rekor v1 returns it, proof against the current tree."""
        proof = proof or self.inclusion_proof(entry)
        return {
            self.entry_id(entry): {
                "body": _b64(entry.body),
                "integratedTime": entry.integrated_time,
                "logID": self.log_id.hex(),
                "logIndex": entry.index,
                "verification": {
                    "inclusionProof": {
                        "checkpoint": proof.checkpoint,
                        "hashes": [h.hex() for h in proof.hashes],
                        "logIndex": proof.log_index,
                        "rootHash": proof.root_hash.hex(),
                        "treeSize": proof.tree_size,
                    },
                    "signedEntryTimestamp": _b64(entry.signed_entry_timestamp),
                },
            }
        }

    def bundle_entry(self, entry: LogEntry, proof: InclusionProof) -> dict[str, Any]:
        """One ``verificationMaterial.tlogEntries`` element (protobuf JSON; u64 as strings)."""
        return {
            "logIndex": str(entry.index),
            "logId": {"keyId": _b64(self.log_id)},
            "kindVersion": {"kind": entry.kind, "version": entry.api_version},
            "integratedTime": str(entry.integrated_time),
            "inclusionPromise": {"signedEntryTimestamp": _b64(entry.signed_entry_timestamp)},
            "inclusionProof": {
                "logIndex": str(proof.log_index),
                "rootHash": _b64(proof.root_hash),
                "treeSize": str(proof.tree_size),
                "hashes": [_b64(h) for h in proof.hashes],
                "checkpoint": {"envelope": proof.checkpoint},
            },
            "canonicalizedBody": _b64(entry.body),
        }
