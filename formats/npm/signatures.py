"""The registry's own signatures (``npm audit signatures``): ECDSA P-256 over
``${name}@${version}:${integrity}``, and the ``/-/npm/v1/keys`` document.

    key = RegistryKey.load_or_create(path, create=True)   # PEM, created 0600 when missing
    key.sign("left-pad", "1.0.0", "sha512-...")   # {"keyid": "SHA256:...", "sig": "MEUC..."}
    keys_document([key])            # {"keys": [{"expires", "keyid", "keytype", "scheme", "key"}]}

npm verifies ``sig`` (base64 DER) with ``crypto.createVerify("SHA256")`` and the public key
whose ``keyid`` matches; ``keyid`` is ``SHA256:`` plus the base64 of the sha256 of the public
key's SubjectPublicKeyInfo DER, as npmjs publishes it. A key whose
``expires`` is set stops being valid for versions published after it (rotation: publish a new
key, set ``expires`` on the old one, keep serving both). Raises ``InvalidSigningKey`` for a key
file that is not an unencrypted ECDSA P-256 private key.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from formats.npm.errors import InvalidSigningKey
from formats.npm.packument import npm_time

KEY_TYPE = "ecdsa-sha2-nistp256"


def signed_message(name: str, version: str, integrity: str) -> bytes:
    return f"{name}@{version}:{integrity}".encode()


@dataclass(frozen=True)
class RegistryKey:
    private_key: ec.EllipticCurvePrivateKey
    expires: datetime | None = None

    @classmethod
    def generate(cls) -> RegistryKey:
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def from_pem(cls, pem: bytes, expires: datetime | None = None) -> RegistryKey:
        try:
            key = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as err:
            raise InvalidSigningKey(f"not an unencrypted PEM private key: {err}") from err
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise InvalidSigningKey("the registry signing key must be ECDSA P-256")
        return cls(key, expires)

    @classmethod
    def load_or_create(cls, path: Path, *, create: bool) -> RegistryKey:
        """The key in ``path``; when it is missing and ``create`` is true, a new key written
        there (mode 0600, never overwriting a file that appears meanwhile). Raises
        ``InvalidSigningKey`` when the file is missing (and ``create`` is false) or bad."""
        try:
            return cls.from_pem(path.read_bytes())
        except FileNotFoundError:
            if not create:
                raise InvalidSigningKey(f"no registry signing key at {path}") from None
        key = cls.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written whole to a temporary file, then linked into place: another process starting
        # at the same moment either sees no file or a complete one, and one key wins.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".npm-key-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(key.pem())
            os.chmod(tmp, 0o600)
            try:
                os.link(tmp, path)
            except FileExistsError:  # another process created it first: use theirs
                return cls.from_pem(path.read_bytes())
        finally:
            os.unlink(tmp)
        return key

    def pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())

    @property
    def spki(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

    @property
    def keyid(self) -> str:
        return "SHA256:" + base64.b64encode(hashlib.sha256(self.spki).digest()).decode()

    def sign(self, name: str, version: str, integrity: str) -> dict[str, str]:
        """One ``dist.signatures`` entry."""
        sig = self.private_key.sign(signed_message(name, version, integrity),
                                    ec.ECDSA(hashes.SHA256()))
        return {"keyid": self.keyid, "sig": base64.b64encode(sig).decode()}

    def public_entry(self) -> dict[str, Any]:
        return {"expires": npm_time(self.expires) if self.expires else None,
                "keyid": self.keyid, "keytype": KEY_TYPE, "scheme": KEY_TYPE,
                "key": base64.b64encode(self.spki).decode()}


def keys_document(keys: Sequence[RegistryKey]) -> dict[str, Any]:
    """``GET /-/npm/v1/keys``."""
    return {"keys": [key.public_entry() for key in keys]}


def verify(entry: dict[str, Any], signature: dict[str, str], name: str, version: str,
           integrity: str) -> bool:
    """Whether ``signature`` verifies under the ``/-/npm/v1/keys`` ``entry`` (what npm does)."""
    if signature.get("keyid") != entry.get("keyid"):
        return False
    public = serialization.load_der_public_key(base64.b64decode(entry["key"]))
    if not isinstance(public, ec.EllipticCurvePublicKey):
        return False
    try:
        public.verify(base64.b64decode(signature["sig"]),
                      signed_message(name, version, integrity), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return False
    return True
