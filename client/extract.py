"""Unpack a package tarball without trusting it: regular files and directories only, every
name inside the destination, within a byte and a member budget.

    limits = ExtractLimits(max_bytes=1 << 30, max_files=100_000)
    stats = extract_tarball(Path("left-pad-1.0.0.tgz"), fresh_empty_dir, limits)
    stats.files, stats.bytes_written

Why not ``TarFile.extractall(filter="data")``: the filter is the interpreter's, and the
interpreters this client runs on have known bypasses (CVE-2025-4517, the realpath/PATH_MAX
escape; CVE-2025-4138/4330, link targets; CVE-2025-4435, ``errorlevel=0``; CVE-2026-7774 and
CVE-2026-11940 in 2026). So this module never calls ``extract``/``extractall`` or
``realpath``: it reads the archive as a stream and creates every directory and file itself,
from names it has checked component by component (``../shared/research/round2.md`` §3).

What is refused (``UnsafeArchive``, code ``unsafe_archive``):

- any member that is not a regular file or a directory: symbolic and hard links (none at all,
  wherever they point, as npm does), character and block devices, FIFOs, sparse files and
  unknown types;
- empty names, absolute names, Windows drive letters, backslashes, ``..`` components, NUL or
  other control characters, names that are not UTF-8, components over 255 bytes, names over
  4096 bytes or deeper than 256 directories;
- two members that would land on the same path (after NFC normalization and case folding, so
  also on macOS and Windows file systems), and a file where a directory is needed;
- names the caller reserves at the top level (``vouch install`` keeps ``.vouch.json``);
- corrupt or truncated archives and compressed streams.

Modes are not taken from the archive: directories get 0755, files 0644, or 0755 when the
archive marks them executable (minus the umask); setuid, setgid, sticky and world-writable bits,
owners and timestamps are dropped. Files are created with ``O_EXCL | O_NOFOLLOW``.

Limits (``ArchiveTooLarge``, code ``archive_too_large``): at most ``max_files`` members and
``max_bytes`` bytes written. Sizes in headers are checked before a file is opened, and the bytes
actually written are counted while they stream. The decompressed stream itself is metered, so
a gzip, bzip2 or xz bomb stops while it is being decompressed: the bytes between two members'
data (headers, PAX records, GNU long names, padding) may not exceed 1 MiB, and the whole
stream may not exceed ``max_bytes`` plus 2 KiB per allowed member.

``into`` must be an empty directory that the caller created and owns; on failure partial
output stays in it and the caller removes it (``vouch install`` builds each package in a fresh
``mkdtemp`` directory and renames it into place only when complete).
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import tarfile
import unicodedata
import zlib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from client.errors import IntegrityError

MAX_NAME_BYTES = 4096
MAX_COMPONENT_BYTES = 255
MAX_DEPTH = 256
HEADER_WINDOW = 1024 * 1024  # decompressed bytes allowed between two members' data
STREAM_OVERHEAD_PER_MEMBER = 2048  # header block(s) and padding of one member
_READ_SIZE = 256 * 1024
# O_EXCL: never open something that exists; O_NOFOLLOW: never through a symlink (POSIX only)
NEW_FILE_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                  | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
_FILE_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE)
_KINDS = {
    tarfile.SYMTYPE: "a symbolic link",
    tarfile.LNKTYPE: "a hard link",
    tarfile.CHRTYPE: "a character device",
    tarfile.BLKTYPE: "a block device",
    tarfile.FIFOTYPE: "a FIFO",
    tarfile.GNUTYPE_SPARSE: "a sparse file",
}


class ArchiveError(IntegrityError):
    """The archive cannot be installed; nothing of it may be kept. ``code`` says why:
    ``unsafe_archive``, ``archive_too_large`` or ``extract_failed`` (the file system refused)."""

    default_code = "unsafe_archive"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message, code=code or self.default_code)


class UnsafeArchive(ArchiveError):
    default_code = "unsafe_archive"


class ArchiveTooLarge(ArchiveError):
    """Over a limit; ``limit`` is ``"bytes"`` or ``"files"`` (which setting to raise)."""

    default_code = "archive_too_large"

    def __init__(self, message: str, *, limit: str) -> None:
        super().__init__(message)
        self.limit = limit


@dataclass(frozen=True)
class ExtractLimits:
    max_bytes: int
    max_files: int


@dataclass(frozen=True)
class Extracted:
    files: int
    directories: int
    bytes_written: int


def extract_tarball(archive: Path, into: Path, limits: ExtractLimits, *,
                    reserved: Collection[str] = ()) -> Extracted:
    """Unpack the (optionally gzip, bzip2 or xz compressed) tarball ``archive`` into the empty
    directory ``into``. Raises ``UnsafeArchive``, ``ArchiveTooLarge`` or ``ArchiveError``
    (``extract_failed``: the file system refused a write), all ``IntegrityError``, and leaves
    partial output in ``into`` for the caller to remove; ``ValueError`` if ``into`` is not
    empty."""
    if any(into.iterdir()):
        raise ValueError(f"{into} is not empty")
    stream_limit = (limits.max_bytes + STREAM_OVERHEAD_PER_MEMBER * limits.max_files
                    + HEADER_WINDOW)
    with archive.open("rb") as raw, _decompressor(raw) as source:
        meter = _Meter(source, limits, stream_limit)
        try:
            with tarfile.open(fileobj=meter, mode="r|",  # type: ignore[call-overload]
                              bufsize=_READ_SIZE) as tar:
                return _Writer(into, limits, reserved).run(tar, meter)
        except (tarfile.TarError, EOFError) as err:
            raise UnsafeArchive(f"corrupt or truncated archive: {err}") from err
        except OSError as err:  # writing: disk full, name too long for this file system...
            raise ArchiveError(f"cannot extract the archive: {err}",
                               code="extract_failed") from err


def _decompressor(raw: io.BufferedReader) -> io.BufferedIOBase:
    """The decompressed stream, chosen by magic bytes (as ``tarfile``'s ``r:*`` does)."""
    magic = raw.read(6)
    raw.seek(0)
    if magic.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if magic.startswith(b"BZh"):
        return bz2.BZ2File(raw)
    if magic.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMAFile(raw)
    return raw


class _Meter:
    """A read-only stream that counts decompressed bytes against two budgets: the whole stream,
    and a window the extractor opens before each step (headers: ``HEADER_WINDOW``; a file's
    data: its size). ``tarfile`` reads every header and PAX record into memory, so the window
    is what keeps a hostile header from growing the process."""

    def __init__(self, source: io.BufferedIOBase, limits: ExtractLimits, total: int) -> None:
        self._source = source
        self._limits = limits
        self._total_left = total
        self._window_left = HEADER_WINDOW
        self._window_what = "archive headers"

    def window(self, size: int, what: str) -> None:
        self._window_left = size + _READ_SIZE  # tarfile reads ahead up to one buffer
        self._window_what = what

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0 or size > _READ_SIZE:
            size = _READ_SIZE
        try:
            data = self._source.read(size)
        except (OSError, EOFError, zlib.error, lzma.LZMAError) as err:
            raise UnsafeArchive(f"corrupt compressed data: {err}") from err
        self._total_left -= len(data)
        self._window_left -= len(data)
        if self._total_left < 0:
            raise ArchiveTooLarge(
                f"the archive decompresses to more than its extraction limit of "
                f"{_size(self._limits.max_bytes)} (plus headers)", limit="bytes")
        if self._window_left < 0:
            raise UnsafeArchive(f"{self._window_what} take more than "
                                f"{_size(HEADER_WINDOW)} of the decompressed stream")
        return data


class _Writer:
    """Creates the checked members under ``root``; tracks what exists, by folded name."""

    def __init__(self, root: Path, limits: ExtractLimits, reserved: Collection[str]) -> None:
        self.root = root
        self.limits = limits
        self.reserved = {_fold(name) for name in reserved}
        self.kinds: dict[str, str] = {}     # folded relative path -> "file" | "dir"
        self.spelled: dict[str, str] = {}   # folded relative path -> the name as created
        self.members = 0
        self.files = 0
        self.directories = 0
        self.written = 0

    def run(self, tar: tarfile.TarFile, meter: _Meter) -> Extracted:
        while True:
            meter.window(HEADER_WINDOW, "archive headers")
            member = tar.next()
            if member is None:
                return Extracted(self.files, self.directories, self.written)
            self.members += 1
            if self.members > self.limits.max_files:
                raise ArchiveTooLarge(f"the archive has more than {self.limits.max_files} "
                                      "members, its extraction limit", limit="files")
            parts = _checked_parts(member)
            if member.isdir():
                if parts:  # "." or "./" names the package directory itself
                    self._directory(parts)
            elif member.type in _FILE_TYPES and member.sparse is None:
                if not parts:
                    raise UnsafeArchive(f"{_show(member.name)} is a file without a name")
                meter.window(member.size, f"data of {_show(member.name)}")
                self._file(tar, member, parts)
            else:
                kind = ("a sparse file" if member.sparse is not None  # PAX GNU.sparse.*
                        else _KINDS.get(member.type, f"a member of type {member.type!r}"))
                target = f" (to {_show(member.linkname)})" if member.linkname else ""
                raise UnsafeArchive(f"{_show(member.name)} is {kind}{target}; only regular "
                                    "files and directories are installed (no links)")

    def _claim(self, parts: tuple[str, ...], kind: str) -> tuple[str, bool]:
        """Record ``parts`` as ``kind``; returns (relative path, already existed)."""
        relative = "/".join(parts)
        key = _fold(relative)
        if len(parts) == 1 and key in self.reserved:
            raise UnsafeArchive(f"{_show(relative)} is reserved for the installer")
        if key in self.kinds:
            if self.spelled[key] != relative:
                raise UnsafeArchive(f"{_show(relative)} and {_show(self.spelled[key])} name the "
                                    "same path on case-insensitive or normalizing file systems")
            if kind == "file" or self.kinds[key] == "file":
                raise UnsafeArchive(f"{_show(relative)} appears twice in the archive "
                                    "(a second copy would overwrite the first)")
            return relative, True
        self.kinds[key] = kind
        self.spelled[key] = relative
        return relative, False

    def _directory(self, parts: tuple[str, ...]) -> None:
        for depth in range(1, len(parts) + 1):
            relative, existed = self._claim(parts[:depth], "dir")
            if not existed:
                os.mkdir(self.root / relative, 0o755)
                self.directories += 1

    def _file(self, tar: tarfile.TarFile, member: tarfile.TarInfo,
              parts: tuple[str, ...]) -> None:
        if member.size > self.limits.max_bytes - self.written:
            raise ArchiveTooLarge(
                f"{_show(member.name)} ({_size(member.size)}) takes the archive past its "
                f"extraction limit of {_size(self.limits.max_bytes)}", limit="bytes")
        if len(parts) > 1:
            self._directory(parts[:-1])
        relative, _ = self._claim(parts, "file")
        mode = 0o755 if member.mode & 0o111 else 0o644
        source = tar.extractfile(member)
        assert source is not None  # a regular file always has a data stream
        with source, os.fdopen(os.open(self.root / relative, NEW_FILE_FLAGS, mode), "wb") as out:
            while chunk := source.read(_READ_SIZE):
                self.written += len(chunk)  # what is written, whatever the header said
                if self.written > self.limits.max_bytes:
                    raise ArchiveTooLarge(
                        f"{_show(member.name)} takes the archive past its extraction limit "
                        f"of {_size(self.limits.max_bytes)}", limit="bytes")
                out.write(chunk)
        self.files += 1


def _checked_parts(member: tarfile.TarInfo) -> tuple[str, ...]:
    """The name's components ("" and "." dropped); raises ``UnsafeArchive`` for anything that
    could leave the destination or mean different things on different systems."""
    name = member.name
    shown = _show(name)
    if not name:
        raise UnsafeArchive("a member has an empty name")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in name):
        raise UnsafeArchive(f"{shown} contains a control character")
    try:
        encoded = name.encode("utf-8")
    except UnicodeEncodeError:
        raise UnsafeArchive(f"{shown} is not valid UTF-8") from None
    if len(encoded) > MAX_NAME_BYTES:
        raise UnsafeArchive(f"{shown} is longer than {MAX_NAME_BYTES} bytes")
    if "\\" in name:
        raise UnsafeArchive(f"{shown} contains a backslash")
    if name.startswith("/"):
        raise UnsafeArchive(f"{shown} is an absolute path")
    parts = tuple(part for part in name.split("/") if part not in ("", "."))
    if ".." in parts:
        raise UnsafeArchive(f"{shown} contains a '..' component")
    if parts and len(parts[0]) >= 2 and parts[0][1] == ":" and parts[0][0].isalpha():
        raise UnsafeArchive(f"{shown} starts with a drive letter")
    if len(parts) > MAX_DEPTH:
        raise UnsafeArchive(f"{shown} is deeper than {MAX_DEPTH} directories")
    if any(len(part.encode("utf-8")) > MAX_COMPONENT_BYTES for part in parts):
        raise UnsafeArchive(f"{shown} has a component longer than {MAX_COMPONENT_BYTES} bytes")
    return parts


def _fold(relative: str) -> str:
    return unicodedata.normalize("NFC", relative).casefold()


def _show(name: str) -> str:
    """A member name for a message: quoted, escaped, shortened."""
    text = repr(name)
    return text if len(text) <= 120 else text[:100] + "...'"


def _size(count: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= scale:
            return f"{count} bytes ({count / scale:.1f} {unit})"
    return f"{count} bytes"
