"""Subresource-integrity strings and digests as npm uses them (``dist.integrity``,
``dist.shasum``).

    >>> digests = Digests.of(b"hello")
    >>> digests.integrity[:19], digests.shasum[:8]
    ('sha512-m3HSJL1i83hd', 'aaf4c61d')
    >>> digests.check("sha512-" + "A" * 86 + "==", digests.shasum)
    Traceback (most recent call last):
    ...
    formats.npm.errors.IntegrityMismatch: dist.integrity does not match the tarball

Comparisons are constant-time; a malformed integrity string is ``IntegrityMismatch`` too (the
registry only accepts what it can check).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass

from formats.npm.errors import IntegrityMismatch

_SHA1_HEX = re.compile(r"[0-9a-f]{40}")


def integrity_sha512(sha512_hex: str) -> str:
    """``sha512-<base64>`` from a hexadecimal sha512."""
    return "sha512-" + base64.b64encode(bytes.fromhex(sha512_hex)).decode()


def sha512_hex_of(integrity: str) -> str:
    """The hexadecimal sha512 of a single-hash ``sha512-<base64>`` string; raises
    ``IntegrityMismatch`` for anything else (other algorithms, several hashes, bad base64)."""
    algorithm, _, value = integrity.strip().partition("-")
    if algorithm != "sha512" or not value or any(c.isspace() for c in value):
        raise IntegrityMismatch("dist.integrity must be one sha512-<base64> hash")
    value = value.split("?", 1)[0]  # SRI options are allowed and mean nothing here
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as err:
        raise IntegrityMismatch("dist.integrity is not valid base64") from err
    if len(raw) != 64:
        raise IntegrityMismatch("dist.integrity is not a sha512 digest")
    return raw.hex()


@dataclass(frozen=True)
class Digests:
    """sha512 (hex), sha1 (hex) and size of some bytes."""

    sha512: str
    shasum: str
    size: int

    @classmethod
    def of(cls, data: bytes) -> Digests:
        sha1 = hashlib.sha1(data, usedforsecurity=False)  # npm's legacy shasum
        return cls(hashlib.sha512(data).hexdigest(), sha1.hexdigest(), len(data))

    @property
    def integrity(self) -> str:
        return integrity_sha512(self.sha512)

    def check(self, integrity: object, shasum: object) -> None:
        """Raise ``IntegrityMismatch`` unless both declared digests are these bytes'."""
        if not isinstance(integrity, str):
            raise IntegrityMismatch("dist.integrity is missing")
        if not hmac.compare_digest(sha512_hex_of(integrity), self.sha512):
            raise IntegrityMismatch("dist.integrity does not match the tarball")
        if not isinstance(shasum, str) or not _SHA1_HEX.fullmatch(shasum.lower()):
            raise IntegrityMismatch("dist.shasum must be a hexadecimal sha1")
        if not hmac.compare_digest(shasum.lower(), self.shasum):
            raise IntegrityMismatch("dist.shasum does not match the tarball")
