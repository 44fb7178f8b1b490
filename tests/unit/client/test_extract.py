"""`client.extract` against hostile tarballs built with the real tarfile: every one is refused
(or, for modes, neutralised) and nothing is written outside the destination."""

from __future__ import annotations

import io
import os
import re
import stat
import tarfile
import tracemalloc
from pathlib import Path

import pytest

from client.extract import (
    HEADER_WINDOW,
    ArchiveTooLarge,
    ExtractLimits,
    UnsafeArchive,
    extract_tarball,
)
from tests.support.hostile_tarballs import (
    Entry,
    build,
    directory,
    gzip_bomb,
    hardlink,
    hardlink_overwrite,
    many_members,
    member,
    pax_header_bomb,
    pax_sparse,
    realpath_escape,
    special,
    symlink,
)

LIMITS = ExtractLimits(max_bytes=1 << 30, max_files=100_000)


@pytest.fixture
def box(tmp_path: Path) -> Path:
    """``box/`` holds the archive and the destination ``box/project/pkg``: anything the
    extractor writes outside ``pkg`` shows up in ``box``."""
    (tmp_path / "project" / "pkg").mkdir(parents=True)
    return tmp_path


def unpack(box: Path, data: bytes, limits: ExtractLimits = LIMITS,
           reserved: tuple[str, ...] = ()) -> None:
    archive = box / "artifact.tgz"
    archive.write_bytes(data)
    extract_tarball(archive, box / "project" / "pkg", limits, reserved=reserved)


def outside(box: Path) -> list[str]:
    """Everything under ``box`` that is not the archive or inside the destination."""
    found = []
    for path in box.rglob("*"):
        relative = path.relative_to(box).as_posix()
        if relative in ("artifact.tgz", "project", "project/pkg") or \
                relative.startswith("project/pkg/"):
            continue
        found.append(relative)
    return found


def test_a_plain_package_is_unpacked_with_sane_modes(box: Path) -> None:
    data = build([directory("package"), member("package/index.js", b"x = 1\n"),
                  member("./package/bin/run", b"#!/bin/sh\n", mode=0o6777),
                  directory("package/lib", mode=0o777), member("package/lib/a.txt", b"a")])
    unpack(box, data)
    pkg = box / "project" / "pkg" / "package"
    assert (pkg / "index.js").read_bytes() == b"x = 1\n"
    # setuid, setgid and world-writable bits are dropped; the executable bit survives.
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((pkg / "bin" / "run").stat().st_mode) == 0o755 & ~umask
    assert stat.S_IMODE((pkg / "index.js").stat().st_mode) == 0o644 & ~umask
    assert stat.S_IMODE((pkg / "lib").stat().st_mode) == 0o755 & ~umask
    assert outside(box) == []


def test_dot_root_entry_and_plain_tar_and_other_compressions(box: Path) -> None:
    for compression in ("", "bz2", "xz"):
        target = box / "project" / "pkg"
        for child in sorted(target.rglob("*"), reverse=True):
            child.rmdir() if child.is_dir() else child.unlink()
        unpack(box, build([directory("."), member("./a.txt", b"a")], compression=compression))
        assert (target / "a.txt").read_bytes() == b"a"


def test_realpath_path_max_bypass_is_refused(box: Path) -> None:
    """CVE-2025-4517: the data filter of this interpreter (3.11.7) lets this write
    ``project/pwned.txt``; the extractor refuses the first link it meets."""
    destination = box / "project" / "pkg"
    data = realpath_escape(dest_len=len(str(destination)))
    assert len(data) < 2000
    with pytest.raises(UnsafeArchive, match=r"is a symbolic link .*no links"):
        unpack(box, data)
    assert outside(box) == []


@pytest.mark.parametrize("data, message", [
    (build([member("../../escape.txt", b"x")]), "'..' component"),
    (build([member("package/../../escape.txt", b"x")]), "'..' component"),
    (build([member("/tmp/vouch-absolute.txt", b"x")]), "absolute path"),
    (build([symlink("lnk", "../../"), member("lnk/escape.txt", b"x")]), "symbolic link"),
    (build([symlink("docs", "README.md")]), "symbolic link"),  # inside, still refused
    (build([symlink("abs", "/etc/passwd")]), "symbolic link"),
    (hardlink_overwrite(), "hard link"),
    (build([member("package/a", b"a"), hardlink("package/b", "package/a")]), "hard link"),
    (build([special("package/null", tarfile.CHRTYPE)]), "character device"),
    (build([special("package/disk", tarfile.BLKTYPE)]), "block device"),
    (build([special("package/pipe", tarfile.FIFOTYPE)]), "FIFO"),
    (build([member("package/a.txt", b"1"), member("package/a.txt", b"2")]), "appears twice"),
    (build([member("package/README", b"1"), member("package/readme", b"2")]),
     "case-insensitive"),
    (build([member("package/caf\u00e9", b"1"), member("package/cafe\u0301", b"2")]),
     "normalizing"),
    (build([member("package/a", b"1"), directory("package/a")]), "appears twice"),
    (build([member("package/a", b"1"), member("package/a/b", b"2")]), "appears twice"),
    (build([member("package/a\x1b[2J", b"x")]), "control character"),
    (build([member("package\\..\\..\\x", b"x")]), "backslash"),
    (build([member("C:/Windows/x", b"x")]), "drive letter"),
    (build([member("package/" + "x" * 256, b"x")]), "longer than 255 bytes"),
    (build([member("/".join(["d"] * 300), b"x")]), "deeper than 256"),
    (build([directory("/")]), "empty name"),
    (build([member(".vouch.json", b"{}")]), "reserved"),
    (build([Entry("package/v", tarfile.GNUTYPE_SPARSE)]), "sparse file"),
    (pax_sparse(), "'package/s' is a sparse file"),
    (build([Entry("package/m", b"M")]), "type b'M'"),
], ids=lambda value: value if isinstance(value, str) else "")
def test_hostile_members_are_refused(box: Path, data: bytes, message: str) -> None:
    with pytest.raises(UnsafeArchive, match=re.escape(message)) as raised:
        unpack(box, data, reserved=(".vouch.json",))
    assert raised.value.code == "unsafe_archive"
    assert outside(box) == []
    assert not Path("/tmp/vouch-absolute.txt").exists()


def test_contiguous_files_are_regular_files(box: Path) -> None:
    unpack(box, build([Entry("package/x", tarfile.CONTTYPE)]))
    assert (box / "project" / "pkg" / "package" / "x").read_bytes() == b""


def test_the_pax_path_is_the_name_that_is_checked(box: Path) -> None:
    """A PAX ``path`` record overrides the plain header's name: the override is checked."""
    data = build([Entry("package/innocent.txt", data=b"x", pax={"path": "../../escape.txt"})])
    with pytest.raises(UnsafeArchive, match=re.escape("'..' component")):
        unpack(box, data)
    assert outside(box) == []


def test_gzip_bomb_over_the_byte_cap_stops_before_decompressing_it(box: Path) -> None:
    """~2 MB of gzip that declares 2 GiB: refused on the header, before its data is
    decompressed; the process never holds more than a few MiB."""
    data = gzip_bomb(declared=2 << 30)
    assert len(data) < 3 << 20
    tracemalloc.start()
    try:
        with pytest.raises(ArchiveTooLarge, match="extraction limit of 1073741824") as raised:
            unpack(box, data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert raised.value.limit == "bytes" and raised.value.code == "archive_too_large"
    assert peak < 8 << 20
    assert list((box / "project" / "pkg").rglob("*")) == []


def test_bytes_are_counted_across_members(box: Path) -> None:
    limits = ExtractLimits(max_bytes=1 << 20, max_files=100)
    data = build([member(f"package/{i}.bin", b"\0" * (300 << 10)) for i in range(4)])
    with pytest.raises(ArchiveTooLarge, match=re.escape("package/3.bin")):
        unpack(box, data, limits)
    written = sum(p.stat().st_size for p in (box / "project" / "pkg").rglob("*.bin"))
    assert written <= 1 << 20
    unpack_fresh = box / "again"
    unpack_fresh.mkdir()
    (box / "artifact.tgz").write_bytes(data)
    extract_tarball(box / "artifact.tgz", unpack_fresh,
                    ExtractLimits(max_bytes=4 * (300 << 10), max_files=100))  # exactly fits


def test_a_huge_pax_header_is_stopped_while_decompressing(box: Path) -> None:
    """tarfile reads a PAX header whole: 64 MiB of comment would be 64 MiB of memory. The
    metered stream stops it after about ``HEADER_WINDOW``."""
    data = pax_header_bomb(64 << 20)
    assert len(data) < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(UnsafeArchive, match="archive headers take more than"):
            unpack(box, data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * HEADER_WINDOW
    assert outside(box) == []


def test_headers_count_against_the_whole_stream(box: Path) -> None:
    """Many members with large (but each allowed) PAX headers: the stream as a whole may not
    exceed the byte cap plus 2 KiB per member plus one header window."""
    limits = ExtractLimits(max_bytes=1 << 20, max_files=10)
    data = build([Entry(f"package/{i}.txt", data=b"x", pax={"comment": "y" * (700 << 10)})
                  for i in range(5)])
    with pytest.raises(ArchiveTooLarge, match="decompresses to more than"):
        unpack(box, data, limits)


def test_too_many_members(box: Path) -> None:
    limits = ExtractLimits(max_bytes=1 << 30, max_files=50)
    with pytest.raises(ArchiveTooLarge, match="more than 50 members") as raised:
        unpack(box, many_members(51), limits)
    assert raised.value.limit == "files"
    ok = box / "ok"
    ok.mkdir()
    extract_tarball(box / "artifact.tgz", ok, ExtractLimits(1 << 30, 51))  # a directory-less 51


def test_corrupt_and_truncated_archives(box: Path) -> None:
    good = build([member("package/a.txt", b"a" * 5000)])
    with pytest.raises(UnsafeArchive, match="corrupt"):
        unpack(box, good[: len(good) // 2])
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as archive:
        info = tarfile.TarInfo("package/a.txt")
        info.size = 5000
        archive.addfile(info, io.BytesIO(b"a" * 5000))
    truncated = raw.getvalue()[:2048]
    target = box / "t"
    target.mkdir()
    (box / "t.tar").write_bytes(truncated)
    with pytest.raises(UnsafeArchive, match="corrupt"):
        extract_tarball(box / "t.tar", target, LIMITS)


def test_destination_must_be_empty(box: Path) -> None:
    (box / "project" / "pkg" / "old").write_text("x")
    with pytest.raises(ValueError, match="not empty"):
        unpack(box, build([member("a", b"a")]))
