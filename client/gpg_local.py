"""The user's own `gpg`, for `vouch gpg-key add`: sign the registry's challenge, find and
export the key that signed it.

    signature = sign_challenge(challenge, local_user="alice@example.org")   # armored, detached
    fingerprint = signer_fingerprint(challenge, signature)                  # its primary key
    armored = export_public_key(fingerprint)

gpg runs with the caller's environment, so ``GNUPGHOME`` and gpg.conf (``default-key``) apply
and gpg-agent asks for a passphrase as usual. ``local_user=None`` signs with gpg's default
key. Failures raise ``ClientError`` (exit 1) with gpg's own message; a missing `gpg` binary is
a ``UsageError`` (exit 2).
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from client.errors import ClientError, UsageError

GPG_TIMEOUT_SECONDS = 300  # a passphrase prompt may be waiting for the user


def _gpg(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["gpg", *args], input=stdin, capture_output=True,
                              timeout=GPG_TIMEOUT_SECONDS, check=False)
    except FileNotFoundError as err:
        raise UsageError("`gpg` is not installed (or not on PATH): it signs the registry's "
                         "challenge with your key") from err
    except subprocess.TimeoutExpired as err:
        raise ClientError("gpg did not finish in time") from err


def _gpg_message(done: subprocess.CompletedProcess[bytes]) -> str:
    lines = [line for line in done.stderr.decode("utf-8", "replace").splitlines()
             if line.strip()]
    return "; ".join(lines[-3:]) or f"gpg exited with {done.returncode}"


def sign_challenge(challenge: str, *, local_user: str | None) -> str:
    """A detached, armored signature of ``challenge`` by ``local_user`` (gpg's default key
    when ``None``)."""
    args = ["--armor", "--detach-sign", "--output", "-"]
    if local_user:
        args = ["--local-user", local_user, *args]
    done = _gpg(*args, stdin=challenge.encode("utf-8"))
    if done.returncode != 0 or b"BEGIN PGP SIGNATURE" not in done.stdout:
        who = local_user or "your default key"
        raise ClientError(f"gpg could not sign with {who}: {_gpg_message(done)}",
                          code="gpg_sign_failed")
    return done.stdout.decode("ascii")


def signer_fingerprint(challenge: str, signature: str) -> str:
    """The primary fingerprint of the local key that made ``signature`` (gpg's VALIDSIG
    status line names it, also when a signing subkey signed)."""
    with tempfile.TemporaryDirectory(prefix="vouch-") as tmp:
        data = Path(tmp) / "challenge"
        sig = Path(tmp) / "challenge.asc"
        data.write_text(challenge, encoding="utf-8")
        sig.write_text(signature, encoding="ascii")
        done = _gpg("--status-fd", "1", "--verify", str(sig), str(data))
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        parts = line.split()
        if parts[:2] == ["[GNUPG:]", "VALIDSIG"] and len(parts) >= 12:
            return parts[11].upper()
    raise ClientError(f"gpg could not check its own signature: {_gpg_message(done)}",
                      code="gpg_sign_failed")


def export_public_key(fingerprint: str) -> str:
    """The armored public key ``fingerprint`` from the local keyring."""
    done = _gpg("--armor", "--export", fingerprint)
    text = done.stdout.decode("ascii", "replace")
    if done.returncode != 0 or "BEGIN PGP PUBLIC KEY BLOCK" not in text:
        raise ClientError(f"gpg could not export the public key {fingerprint}: "
                          f"{_gpg_message(done)}", code="gpg_export_failed")
    return text


def key_fingerprint(armored: str) -> str:
    """The primary fingerprint of the one public key in ``armored`` (not imported)."""
    with tempfile.TemporaryDirectory(prefix="vouch-") as tmp:
        path = Path(tmp) / "key.asc"
        path.write_text(armored, encoding="utf-8")
        done = _gpg("--with-colons", "--import-options", "show-only", "--import", str(path))
    fingerprints: list[str] = []
    previous = ""
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        fields = line.split(":")
        if fields[0] == "fpr" and previous == "pub" and len(fields) > 9:
            fingerprints.append(fields[9].upper())
        if fields[0] in ("pub", "sub", "sec", "ssb", "fpr"):
            previous = fields[0]
    if len(fingerprints) != 1:
        raise ClientError("invalid_gpg_key: the file must hold exactly one ASCII-armored "
                          "public key "
                          f"(found {len(fingerprints)}; export one with "
                          "`gpg --armor --export FINGERPRINT`)", code="invalid_gpg_key")
    return fingerprints[0]

