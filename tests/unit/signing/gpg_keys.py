"""Make real OpenPGP keys and signatures with the `gpg` binary, for the GPG tests.

Keys live in one short-lived GNUPGHOME per test session (short path: gpg's agent socket
path has a length limit). Signing starts a gpg-agent; `close()` stops it.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path


@dataclass(frozen=True)
class GeneratedKey:
    fingerprint: str
    public: str  # armored public key (with revocation, for the revoked key)


class Keyring:
    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="vgk-", dir="/tmp"))
        self.home.chmod(0o700)

    def gpg(self, *args: str, input_: bytes | None = None, faked: datetime | None = None) -> bytes:
        cmd = ["gpg", "--homedir", str(self.home), "--batch", "--pinentry-mode", "loopback",
               "--passphrase", ""]
        if faked is not None:
            cmd += ["--faked-system-time", f"{int(faked.timestamp())}!"]
        proc = subprocess.run([*cmd, *args], input=input_, capture_output=True, check=True,
                              timeout=60)
        return proc.stdout

    def _fpr(self, uid: str) -> str:
        out = self.gpg("--with-colons", "--list-keys", uid).decode()
        return next(line.split(":")[9] for line in out.splitlines() if line.startswith("fpr"))

    def make(self, uid: str, *, usage: str = "sign", expire: str = "never",
             faked: datetime | None = None) -> GeneratedKey:
        self.gpg("--quick-gen-key", uid, "ed25519", usage, expire, faked=faked)
        fpr = self._fpr(uid)
        return GeneratedKey(fpr, self.export(fpr))

    def add_signing_subkey(self, fpr: str) -> GeneratedKey:
        self.gpg("--quick-add-key", fpr, "ed25519", "sign", "never")
        return GeneratedKey(fpr, self.export(fpr))

    def revoke(self, fpr: str) -> GeneratedKey:
        cert = (self.home / "openpgp-revocs.d" / f"{fpr}.rev").read_text()
        cert = cert.replace(":-----BEGIN PGP PUBLIC KEY BLOCK-----",
                            "-----BEGIN PGP PUBLIC KEY BLOCK-----")
        self.gpg("--import", input_=cert.encode())
        return GeneratedKey(fpr, self.export(fpr))

    def export(self, fpr: str) -> str:
        return self.gpg("--armor", "--export", fpr).decode()

    def export_secret(self, fpr: str) -> str:
        return self.gpg("--armor", "--export-secret-keys", fpr).decode()

    def sign(self, fpr: str, data: bytes, *, mode: str = "--detach-sign", armor: bool = True,
             faked: datetime | None = None) -> bytes:
        args = ["--local-user", fpr, mode, "--output", "-"]
        if armor:
            args.insert(0, "--armor")
        return self.gpg(*args, input_=data, faked=faked)

    def close(self) -> None:
        subprocess.run(["gpgconf", "--homedir", str(self.home), "--kill", "gpg-agent"],
                       capture_output=True, check=False, timeout=30)
        shutil.rmtree(self.home, ignore_errors=True)


def past(days: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)
