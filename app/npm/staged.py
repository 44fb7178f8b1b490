"""Detached GPG signatures handed in before ``npm publish``, for the npm CLI, which cannot
attach one to its publish body.

    staged = StagedSignatures(data_dir / "npm-signatures")
    staged.put(principal, sha512_hex, armored)     # PUT /npm/-/vouch/signature/{sha512}
    staged.take(principal, sha512_hex)             # the publish of those exact bytes uses it

A signature is kept per account and per tarball sha512 (the bytes ``npm pack`` made and
``npm publish <file>.tgz`` sends unchanged), in the data directory, outside the database: it
is unverified input until a publish verifies it under the package's signature policy, exactly
as an attached one. Nobody else's publish can pick it up, so staging a bad signature can only
make one's own publish fail. A signature is removed once a publish used it.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from app.accounts.service import Principal
from app.core.errors import Forbidden, InvalidMetadata, PayloadTooLarge

MAX_SIGNATURE_BYTES = 64 * 1024
_SHA512 = re.compile(r"[0-9a-f]{128}")


class StagedSignatures:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, principal: Principal, sha512: str) -> Path:
        if principal.user_id is None:
            raise Forbidden("only a user's token can stage a GPG signature")
        if not _SHA512.fullmatch(sha512):
            raise InvalidMetadata("the path names a tarball by its sha512, 128 hex digits")
        return self.directory / str(principal.user_id) / f"{sha512}.asc"

    def put(self, principal: Principal, sha512: str, armored: bytes) -> None:
        """Keep ``armored`` for ``principal``'s publish of the tarball with ``sha512``; raises
        ``InvalidMetadata`` (not an armored signature), ``PayloadTooLarge``, ``Forbidden``."""
        target = self._path(principal, sha512)
        if len(armored) > MAX_SIGNATURE_BYTES:
            raise PayloadTooLarge(f"a signature is at most {MAX_SIGNATURE_BYTES} bytes")
        if not armored.lstrip().startswith(b"-----BEGIN PGP SIGNATURE-----"):
            raise InvalidMetadata("send the ASCII-armored detached signature (gpg --armor "
                                  "--detach-sign)")
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".put-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(armored)
        os.replace(tmp, target)

    def find(self, principal: Principal, sha512: str) -> bytes | None:
        if principal.user_id is None:
            return None
        try:
            return self._path(principal, sha512).read_bytes()
        except FileNotFoundError:
            return None

    def discard(self, principal: Principal, sha512: str) -> None:
        if principal.user_id is None:
            return
        self._path(principal, sha512).unlink(missing_ok=True)
