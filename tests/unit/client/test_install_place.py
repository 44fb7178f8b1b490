"""`client.install.place_all`: all packages staged before any is swapped in, nothing left
behind on failure, and lockfile names that could aim outside `vouch_modules` refused."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest

from client.errors import IntegrityError
from client.extract import ArchiveError, ExtractLimits
from client.install import place_all
from tests.support.hostile_tarballs import build, member, symlink
from versions.lockfile import LockedPackage, Lockfile

LIMITS = ExtractLimits(max_bytes=1 << 20, max_files=100)


def locked(name: str, version: str = "1.0.0") -> LockedPackage:
    return LockedPackage(name=name, version=version, url=f"http://registry.test/{name}",
                         sha256="0" * 64, sha512="0" * 128)


def artifacts(directory: Path, contents: dict[str, bytes]) -> dict[str, Path]:
    """Write each package's artifact to its own file under a new ``directory``."""
    directory.mkdir()
    found = {}
    for index, (name, data) in enumerate(contents.items()):
        path = directory / f"{index}.tgz"
        path.write_bytes(data)
        found[name] = path
    return found


def test_scoped_and_plain_packages_are_placed(tmp_path: Path) -> None:
    target = tmp_path / "project" / "vouch_modules"
    files = artifacts(tmp_path / "in", {"a": build([member("package/a.txt", b"a")]),
                                        "@acme/w": build([member("package/w.txt", b"w")])})
    lock = Lockfile(root={}, packages=[locked("a"), locked("@acme/w")])
    placed = place_all(target, lock, files, LIMITS)
    assert sorted(p.path for p in placed) == [target / "@acme" / "w", target / "a"]
    assert (target / "@acme" / "w" / "package" / "w.txt").read_bytes() == b"w"
    assert json.loads((target / "a" / ".vouch.json").read_text())["name"] == "a"
    assert stat.S_IMODE((target / "a").stat().st_mode) & 0o055 == 0o055  # not mkdtemp's 0700
    assert sorted(p.name for p in target.iterdir()) == ["@acme", "a"]


def test_one_bad_package_installs_none_and_removes_what_it_created(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    files = artifacts(tmp_path / "in", {"good": build([member("package/ok.txt", b"ok")]),
                                        "@acme/bad": build([symlink("package/x", "ok.txt")])})
    lock = Lockfile(root={}, packages=[locked("good"), locked("@acme/bad")])
    with pytest.raises(ArchiveError, match=re.escape("@acme/bad@1.0.0: unsafe archive")):
        place_all(project / "vouch_modules", lock, files, LIMITS)
    assert list(project.iterdir()) == []  # vouch_modules and @acme were made and removed


def test_a_previous_install_and_a_plain_file_in_the_way(tmp_path: Path) -> None:
    target = tmp_path / "vouch_modules"
    first = artifacts(tmp_path / "1", {"a": build([member("package/v.txt", b"1")])})
    place_all(target, Lockfile(root={}, packages=[locked("a")]), first, LIMITS)
    (target / "b").write_text("a stray file where package b goes")
    second = artifacts(tmp_path / "2", {"a": build([member("package/v.txt", b"2")]),
                                        "b": build([member("package/b.txt", b"b")])})
    bad = artifacts(tmp_path / "3", {"a": build([member("package/v.txt", b"2"),
                                                 member("package/v.txt", b"3")])})
    with pytest.raises(ArchiveError, match="appears twice"):
        place_all(target, Lockfile(root={}, packages=[locked("a", "2.0.0")]), bad, LIMITS)
    assert (target / "a" / "package" / "v.txt").read_bytes() == b"1"
    lock = Lockfile(root={}, packages=[locked("a", "2.0.0"), locked("b")])
    place_all(target, lock, second, LIMITS)
    assert (target / "a" / "package" / "v.txt").read_bytes() == b"2"
    assert (target / "b" / "package" / "b.txt").read_bytes() == b"b"
    assert sorted(p.name for p in target.iterdir()) == ["a", "b"]  # no .old-*, .installing-*


@pytest.mark.parametrize("name", ["../escape", "a/../../b", "@scope/../../x", "/abs",
                                  "@scope/a/b", "A", ".hidden", ""])
def test_lockfile_names_that_are_not_package_names(tmp_path: Path, name: str) -> None:
    target = tmp_path / "project" / "vouch_modules"
    data = tmp_path / "a.tgz"
    data.write_bytes(build([member("package/a.txt", b"a")]))
    lock = Lockfile.__new__(Lockfile)  # a hand-edited lockfile: bypass its own checks
    object.__setattr__(lock, "root", {})
    object.__setattr__(lock, "packages", [LockedPackage.__new__(LockedPackage)])
    for field, value in (("name", name), ("version", "1.0.0"), ("url", "http://x/"),
                         ("sha256", "0" * 64), ("sha512", "0" * 128), ("dependencies", {})):
        object.__setattr__(lock.packages[0], field, value)
    with pytest.raises(IntegrityError, match="is not a package name") as raised:
        place_all(target, lock, {name: data}, LIMITS)
    assert raised.value.code == "invalid_name"
    assert list(tmp_path.rglob("*")) == [data]


def test_a_non_tar_artifact_is_copied_as_one_file_within_the_byte_cap(tmp_path: Path) -> None:
    target = tmp_path / "vouch_modules"
    files = artifacts(tmp_path / "in", {"blob": b"just some bytes"})
    place_all(target, Lockfile(root={}, packages=[locked("blob")]), files, LIMITS)
    assert (target / "blob" / "blob-1.0.0").read_bytes() == b"just some bytes"
    files["blob"].write_bytes(b"x" * ((1 << 20) + 1))
    with pytest.raises(ArchiveError, match="larger than the extraction limit") as raised:
        place_all(target, Lockfile(root={}, packages=[locked("blob", "2.0.0")]), files, LIMITS)
    assert raised.value.code == "archive_too_large"
    assert (target / "blob" / "blob-1.0.0").is_file()
