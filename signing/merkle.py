"""RFC 6962 / RFC 9162 Merkle inclusion proofs and Rekor signed checkpoints.

    >>> from signing.merkle import leaf_hash, root_from_inclusion_proof
    >>> leaf = leaf_hash(b"entry body")
    >>> root_from_inclusion_proof(0, 1, leaf, []) == leaf
    True

`verify_checkpoint(text, keys)` checks a signed note (https://github.com/C2SP/C2SP,
signed-note + tlog-checkpoint) with the transparency-log keys of a trust root and returns its
(origin, tree size, root hash). Failures raise `TransparencyLogError`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from signing.errors import TransparencyLogError
from signing.trust import TlogKey


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion_proof(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes]
) -> bytes:
    """The tree root implied by `proof` for `leaf` at `index` in a tree of `size` leaves
    (RFC 9162 section 2.1.3.2). Raises `TransparencyLogError` if the proof is malformed."""
    if not 0 <= index < size:
        raise TransparencyLogError(f"inclusion proof index {index} outside tree of size {size}")
    fn, sn = index, size - 1
    root = leaf
    for sibling in proof:
        if len(sibling) != 32:
            raise TransparencyLogError("inclusion proof hash is not 32 bytes")
        if sn == 0:
            raise TransparencyLogError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            root = _node(sibling, root)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            root = _node(root, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise TransparencyLogError("inclusion proof is shorter than the tree is deep")
    return root


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root_hash: bytes
    signed_by: str  # base URL of the tlog whose key verified it


def verify_signature(key: TlogKey, signature: bytes, message: bytes) -> bool:
    public = key.public_key
    try:
        if isinstance(public, ec.EllipticCurvePublicKey):
            public.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        elif isinstance(public, ed25519.Ed25519PublicKey):
            public.verify(signature, message)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def verify_checkpoint(text: str, keys: Sequence[TlogKey]) -> Checkpoint:
    """Verify a signed checkpoint with any of `keys` (matched by 4-byte key hint).

    Raises `TransparencyLogError` if it is malformed or no key's signature verifies."""
    note, sep, signatures = text.partition("\n\n")
    if not sep:
        raise TransparencyLogError("checkpoint has no signature block")
    lines = note.split("\n")
    if len(lines) < 3 or not lines[0]:
        raise TransparencyLogError("checkpoint lacks origin, size or root hash")
    try:
        size = int(lines[1])
        root = base64.b64decode(lines[2], validate=True)
    except (ValueError, binascii.Error) as err:
        raise TransparencyLogError("checkpoint size or root hash is malformed") from err
    message = (note + "\n").encode()
    for line in signatures.split("\n"):
        if not line.startswith("\u2014 "):
            continue
        _name, _, b64sig = line[2:].rpartition(" ")
        try:
            raw = base64.b64decode(b64sig, validate=True)
        except (ValueError, binascii.Error):
            continue
        hint, sig = raw[:4], raw[4:]
        for key in keys:
            if key.key_id[:4] == hint and verify_signature(key, sig, message):
                return Checkpoint(lines[0], size, root, key.base_url)
    raise TransparencyLogError("no checkpoint signature verifies with a trusted log key")
