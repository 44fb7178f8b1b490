"""Verify detached OpenPGP signatures with the real `gpg`, in a throwaway keyring.

    >>> from signing.gpg import verify_detached, inspect_key
    >>> info = inspect_key(armored_public_key)                       # doctest: +SKIP
    >>> verified = verify_detached(artifact_bytes, signature_bytes,  # doctest: +SKIP
    ...                            keys=[armored_public_key])
    >>> verified.fingerprint == info.fingerprint                     # doctest: +SKIP
    True

Each call imports the registered keys into a fresh temporary GNUPGHOME that is deleted
afterwards; gpg runs with `--batch --no-autostart` (no agent, no key servers, no trust
database decisions: we pin fingerprints instead). The result names the *primary* key's
fingerprint even when a signing subkey made the signature, so the registry pins primaries.

Failures raise: `MalformedSignature` (garbage, not a signature), `AttachedSignature` (an
inline/attached or clear-signed message instead of a detached signature), `KeyUnknown` (no
registered key made it), `SignatureInvalid` (tampered data), `KeyExpired`, `KeyRevoked`,
`KeyInvalid` (for `inspect_key`: garbage, private key material, not exactly one key).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import unquote

from signing.errors import (
    AttachedSignature,
    KeyExpired,
    KeyInvalid,
    KeyRevoked,
    KeyUnknown,
    MalformedSignature,
    SignatureInvalid,
    VerificationError,
)

GPG_TIMEOUT_SECONDS = 30
MAX_SIGNATURE_BYTES = 64 * 1024
MAX_KEY_BYTES = 1024 * 1024
_BASE_ARGS = ["--batch", "--no-tty", "--no-autostart", "--no-auto-key-retrieve",
              "--no-auto-key-locate", "--no-options", "--no-greeting", "--quiet",
              "--status-fd", "1", "--with-colons",
              "--fixed-list-mode"]


@dataclass(frozen=True)
class VerifiedGpg:
    """A good signature by a registered key."""

    fingerprint: str  # primary key fingerprint (upper-case hex)
    signing_key_fingerprint: str  # the (sub)key that made the signature
    signer: str | None  # the primary user id, as gpg reports it
    signed_at: datetime
    method: Literal["gpg"] = "gpg"


@dataclass(frozen=True)
class KeyInfo:
    """What a public key offered for registration contains."""

    fingerprint: str
    uids: tuple[str, ...]
    expires_at: datetime | None
    revoked: bool
    expired: bool
    subkey_fingerprints: tuple[str, ...] = field(default=())
    # Subkeys whose capabilities include signing (gpg's lower-case 's'), and whether the
    # primary key itself may sign: the fingerprints a signature can name.
    signing_subkey_fingerprints: tuple[str, ...] = field(default=())
    primary_can_sign: bool = False

    @property
    def signing_fingerprints(self) -> tuple[str, ...]:
        """The primary fingerprint and every signing subkey's."""
        return (self.fingerprint, *self.signing_subkey_fingerprints)


class _Home:
    """A short-lived GNUPGHOME. Short path on purpose: gpg socket paths have a length limit."""

    def __init__(self, gpg_binary: str) -> None:
        self.gpg = shutil.which(gpg_binary) or gpg_binary
        self.path = Path(tempfile.mkdtemp(prefix="vouch-gpg-"))
        os.chmod(self.path, 0o700)

    def run(self, args: Sequence[str], *, now: datetime | None = None) -> tuple[int, str]:
        cmd = [self.gpg, "--homedir", str(self.path), *_BASE_ARGS]
        if now is not None:
            cmd += ["--faked-system-time", f"{int(now.timestamp())}!"]
        try:
            proc = subprocess.run(
                [*cmd, *args], capture_output=True, timeout=GPG_TIMEOUT_SECONDS, check=False,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C",
                     "GNUPGHOME": str(self.path)},
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            raise VerificationError(f"gpg could not run: {err}") from err
        return proc.returncode, proc.stdout.decode("utf-8", "replace")

    def write(self, name: str, data: bytes) -> Path:
        target = self.path / name
        target.write_bytes(data)
        return target

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)

    def __enter__(self) -> _Home:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _ts(value: str) -> datetime | None:
    if not value:
        return None
    if "T" in value:  # ISO 8601 basic form, used when gpg is told to
        return datetime.strptime(value, "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    return datetime.fromtimestamp(int(value), tz=UTC)


def _armor_kind(data: bytes) -> str | None:
    head = data.lstrip()[:64]
    for marker, kind in ((b"-----BEGIN PGP SIGNATURE-----", "signature"),
                         (b"-----BEGIN PGP SIGNED MESSAGE-----", "attached"),
                         (b"-----BEGIN PGP MESSAGE-----", "attached"),
                         (b"-----BEGIN PGP PUBLIC KEY BLOCK-----", "key"),
                         (b"-----BEGIN PGP PRIVATE KEY BLOCK-----", "key")):
        if head.startswith(marker):
            return kind
    return None


def _packet_tag(first: int) -> int | None:
    if not first & 0x80:
        return None
    return first & 0x3F if first & 0x40 else (first >> 2) & 0x0F


def _check_signature_shape(signature: bytes) -> None:
    """Refuse what is not a detached signature before gpg sees it."""
    if not signature.strip():
        raise MalformedSignature("the signature is empty")
    if len(signature) > MAX_SIGNATURE_BYTES:
        raise MalformedSignature(f"the signature is larger than {MAX_SIGNATURE_BYTES} bytes")
    kind = _armor_kind(signature)
    if kind == "attached":
        raise AttachedSignature("this is a signed message, not a detached signature")
    if kind == "key":
        raise MalformedSignature("this is a key, not a signature")
    if kind == "signature":
        return
    tag = _packet_tag(signature[0])
    if tag in (4, 8, 11):  # one-pass signature, compressed data, literal data
        raise AttachedSignature("this is a signed message, not a detached signature")
    if tag != 2:  # 2 = signature packet
        raise MalformedSignature("not an OpenPGP signature (armored or binary)")


@dataclass
class _Sig:
    verdict: str = ""
    key_id: str = ""
    uid: str | None = None
    fingerprint: str = ""
    primary: str = ""
    created: datetime | None = None
    error_rc: str = ""
    flags: set[str] = field(default_factory=set)


def _parse_status(out: str) -> tuple[list[_Sig], set[str]]:
    sigs: list[_Sig] = []
    other: set[str] = set()
    current: _Sig | None = None
    for line in out.splitlines():
        if not line.startswith("[GNUPG:] "):
            continue
        keyword, _, rest = line[9:].partition(" ")
        parts = rest.split(" ")
        if keyword == "NEWSIG":
            current = _Sig()
            sigs.append(current)
            continue
        if current is None:
            other.add(keyword)
            continue
        if keyword in ("GOODSIG", "BADSIG", "EXPSIG", "EXPKEYSIG", "REVKEYSIG"):
            current.verdict = keyword
            current.key_id = parts[0]
            current.uid = unquote(rest.partition(" ")[2]) or None
        elif keyword == "ERRSIG":
            current.verdict = keyword
            current.key_id = parts[0]
            current.error_rc = parts[5] if len(parts) > 5 else ""
        elif keyword == "VALIDSIG":
            current.fingerprint = parts[0]
            current.created = _ts(parts[2])
            current.primary = parts[9] if len(parts) > 9 else parts[0]
        elif keyword in ("KEYEXPIRED", "KEYREVOKED", "SIGEXPIRED", "NO_PUBKEY"):
            current.flags.add(keyword)
        else:
            other.add(keyword)
    return sigs, other


def _import_keys(home: _Home, keys: Sequence[str]) -> set[str]:
    """Import the registered public keys in one gpg run; returns their primary fingerprints
    (from the IMPORT_OK status lines, which name the primary key)."""
    paths: list[str] = []
    for index, key in enumerate(keys):
        raw = key.encode() if isinstance(key, str) else bytes(key)
        if len(raw) > MAX_KEY_BYTES or _armor_kind(raw) not in ("key", None):
            continue
        paths.append(str(home.write(f"k{index}.asc", raw)))
    if not paths:
        return set()
    _rc, out = home.run(["--import-options", "import-minimal", "--import", *paths])
    fingerprints: set[str] = set()
    for line in out.splitlines():
        if line.startswith("[GNUPG:] IMPORT_OK "):
            parts = line.split(" ")
            if len(parts) >= 4:
                fingerprints.add(parts[3].upper())
    return fingerprints


def _primary_fpr_lines(colons: str) -> list[str]:
    """The `fpr` records that follow `pub`/`sec` records (not subkeys)."""
    result: list[str] = []
    previous = ""
    for line in colons.splitlines():
        record = line.split(":", 1)[0]
        if record == "fpr" and previous in ("pub", "sec"):
            result.append(line)
        if record in ("pub", "sec", "sub", "ssb"):
            previous = record
        elif record == "fpr":
            previous = "fpr"
    return result


def verify_detached(
    data: bytes | str | os.PathLike[str],
    signature: bytes | str,
    keys: Sequence[str],
    *,
    now: datetime | None = None,
    gpg_binary: str = "gpg",
) -> VerifiedGpg:
    """Verify a detached signature (armored or binary) over `data` (bytes, or a file path)
    against the registered armored public `keys`.

    `now` sets gpg's clock (key expiry is judged at that time). Returns the first good
    signature made by a registered, unexpired, unrevoked key; raises as the module says.
    """
    sig_bytes = signature.encode() if isinstance(signature, str) else bytes(signature)
    _check_signature_shape(sig_bytes)
    if not keys:
        raise KeyUnknown("no keys are registered for this signer")
    with _Home(gpg_binary) as home:
        registered = _import_keys(home, keys)
        if not registered:
            raise KeyUnknown("none of the registered keys could be imported")
        sig_path = home.write("artifact.sig", sig_bytes)
        data_path = home.write("artifact", data) if isinstance(data, bytes) else Path(data)
        _rc, out = home.run(["--verify", str(sig_path), str(data_path)], now=now)
    sigs, other = _parse_status(out)
    return _decide(sigs, other, registered)


def _decide(sigs: list[_Sig], other: set[str], registered: set[str]) -> VerifiedGpg:
    if not sigs:
        if "NODATA" in other or "UNEXPECTED" in other:
            raise MalformedSignature("gpg found no signature in the data given as signature")
        raise MalformedSignature("gpg reported no signature")
    problems: list[VerificationError] = []
    for sig in sigs:
        if sig.verdict == "GOODSIG" and sig.primary in registered and sig.created:
            return VerifiedGpg(fingerprint=sig.primary, signing_key_fingerprint=sig.fingerprint,
                               signer=sig.uid, signed_at=sig.created)
        problems.append(_problem(sig, registered))
    # Most specific reason wins: a registered key that is revoked/expired, then bad data,
    # then unknown keys.
    for kind in (KeyRevoked, KeyExpired, SignatureInvalid, MalformedSignature, KeyUnknown):
        for problem in problems:
            if type(problem) is kind:
                raise problem
    raise problems[0]


def _problem(sig: _Sig, registered: set[str]) -> VerificationError:
    fpr = sig.primary or None
    if sig.verdict == "REVKEYSIG" or "KEYREVOKED" in sig.flags:
        return KeyRevoked(f"the signing key {fpr or sig.key_id} is revoked", fingerprint=fpr)
    if sig.verdict == "EXPKEYSIG" or "KEYEXPIRED" in sig.flags:
        return KeyExpired(f"the signing key {fpr or sig.key_id} has expired", fingerprint=fpr)
    if sig.verdict == "EXPSIG":
        return SignatureInvalid("the signature itself has expired")
    if sig.verdict == "BADSIG":
        return SignatureInvalid("BAD signature: the data does not match the signature")
    if sig.verdict == "ERRSIG" and (sig.error_rc == "9" or "NO_PUBKEY" in sig.flags):
        return KeyUnknown(f"signed by key {sig.key_id}, which is not registered",
                          key_id=sig.key_id)
    if sig.verdict == "ERRSIG":
        return MalformedSignature(f"gpg could not check the signature (rc {sig.error_rc})")
    if sig.verdict == "GOODSIG" and sig.primary not in registered:
        return KeyUnknown(f"signed by key {sig.primary}, which is not registered",
                          key_id=sig.key_id)
    return SignatureInvalid("gpg did not accept the signature")


def verify_possession(challenge: bytes, signature: bytes | str, armored: str, *,
                      now: datetime | None = None, gpg_binary: str = "gpg") -> VerifiedGpg:
    """Check that `signature` is a detached signature over `challenge` made by the one key in
    `armored` (its primary key or one of its signing subkeys): proof that the caller holds the
    private key. The keyring holds only that key, and the primary fingerprint gpg reports
    must be the key's own, so a signature by any other key fails.

    A trailing newline (as `echo ... | gpg --detach-sign` adds) is accepted. Raises as
    `verify_detached` does (`SignatureInvalid`, `KeyUnknown`, `MalformedSignature`,
    `AttachedSignature`, `KeyRevoked`, `KeyExpired`) and `KeyInvalid` for a bad key.
    """
    info = inspect_key(armored, now=now, gpg_binary=gpg_binary)
    error: SignatureInvalid | None = None
    for data in (challenge, challenge + b"\n", challenge + b"\r\n"):
        try:
            verified = verify_detached(data, signature, [armored], now=now,
                                       gpg_binary=gpg_binary)
        except SignatureInvalid as err:  # maybe signed with a line ending: try the next
            error = error or err
            continue
        if verified.fingerprint != info.fingerprint:
            raise KeyUnknown(f"signed by key {verified.fingerprint}, not by {info.fingerprint}")
        return verified
    assert error is not None
    raise error


def inspect_key(armored: str | bytes, *, now: datetime | None = None,
                gpg_binary: str = "gpg") -> KeyInfo:
    """Describe one OpenPGP public key without importing it anywhere lasting.

    Raises `KeyInvalid` for garbage, private-key material, or anything but exactly one key.
    """
    raw = armored.encode() if isinstance(armored, str) else bytes(armored)
    if not raw.strip() or len(raw) > MAX_KEY_BYTES:
        raise KeyInvalid("the key is empty or too large")
    if b"PRIVATE KEY BLOCK" in raw[:200]:
        raise KeyInvalid("this is private key material: register the public key only")
    with _Home(gpg_binary) as home:
        path = home.write("key.asc", raw)
        _rc, out = home.run(["--import-options", "show-only", "--import", str(path)], now=now)
    records = [line.split(":") for line in out.splitlines() if not line.startswith("[GNUPG:]")]
    kinds = [r[0] for r in records]
    if "sec" in kinds or "ssb" in kinds:
        raise KeyInvalid("this is private key material: register the public key only")
    primaries = [r for r in records if r[0] == "pub"]
    if len(primaries) != 1:
        raise KeyInvalid(f"expected exactly one public key, found {len(primaries)}")
    pub = primaries[0]
    fprs = _primary_fpr_lines(out)
    if len(fprs) != 1:
        raise KeyInvalid("the key has no fingerprint")
    subkeys: list[str] = []
    signing_subkeys: list[str] = []
    current_sub: list[str] | None = None
    for rec in records:
        if rec[0] in ("sub", "pub"):
            current_sub = rec if rec[0] == "sub" else None
        elif rec[0] == "fpr" and current_sub is not None:
            subkeys.append(rec[9])
            if "s" in _field(current_sub, 11):
                signing_subkeys.append(rec[9])
            current_sub = None
    return KeyInfo(
        fingerprint=fprs[0].split(":")[9],
        uids=tuple(unquote_colons(r[9]) for r in records if r[0] == "uid"),
        expires_at=_ts(pub[6]),
        revoked=pub[1] == "r",
        expired=pub[1] == "e",
        subkey_fingerprints=tuple(subkeys),
        signing_subkey_fingerprints=tuple(signing_subkeys),
        primary_can_sign="s" in _field(pub, 11),
    )


def _field(record: list[str], index: int) -> str:
    return record[index] if len(record) > index else ""


def unquote_colons(value: str) -> str:
    r"""Undo gpg's C-style escaping in colon listings (`\x3a` for ':')."""
    if "\\x" not in value:
        return value
    return bytes(value, "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8",
                                                                                   "replace")
