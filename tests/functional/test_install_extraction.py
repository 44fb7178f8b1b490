"""`vouch install` (the real CLI, the real server, signed publishes) against hostile tarballs:
exit 1, an error that names the package and the reason, and nothing written outside the
project's `vouch_modules/NAME` — nor inside it, nor a previous install disturbed."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import Actors
from tests.functional.clihelp import cli_env, vouch
from tests.functional.helpers import publish
from tests.support.hostile_tarballs import (
    build,
    directory,
    gzip_bomb,
    hardlink_overwrite,
    many_members,
    member,
    realpath_escape,
    special,
    symlink,
)


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"max_upload_bytes": 4 << 20}  # room for a 1 GiB gzip bomb (~1 MB)


@pytest.fixture
def alice(actors: Actors) -> httpx.Client:
    return actors.client(actors.user("alice"))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The consumer's side: ``home/project`` and the client's cache (the server keeps its
    database and blobs elsewhere under ``tmp_path``)."""
    (tmp_path / "home" / "project").mkdir(parents=True)
    return tmp_path / "home"


def published(client: httpx.Client, name: str, version: str, data: bytes) -> None:
    response = publish(client, name, version, data)
    assert response.status_code == 201, response.text
    assert response.json()["signer"], "published signed, as production demands"


def install(actors: Actors, home: Path, dependencies: dict[str, str],
            **env: str) -> tuple[int, str]:
    project = home / "project"
    (project / "vouch.toml").write_text(
        "[dependencies]\n" + "".join(f'"{n}" = "{r}"\n' for n, r in dependencies.items()))
    (project / "vouch.lock").unlink(missing_ok=True)
    done: subprocess.CompletedProcess[str] = vouch(
        "install", env={**cli_env(actors.server.url, None, home), **env}, cwd=project)
    return done.returncode, " ".join(done.stderr.split())  # rich wraps long lines


def leftovers(home: Path) -> list[str]:
    """Everything on the consumer's side but the client cache and the project manifest."""
    return sorted(path.relative_to(home).as_posix() for path in home.rglob("*")
                  if path.relative_to(home).parts[0] != "cache"
                  and path.relative_to(home).as_posix() not in ("project", "project/vouch.toml"))


def test_realpath_path_max_bypass_writes_nothing_outside(actors: Actors, alice: httpx.Client,
                                                         home: Path) -> None:
    """CVE-2025-4517 on Python 3.11.7: before the fix this 1.3 KB tarball passed the ``data``
    filter, `vouch install` exited 0 and ``project/pwned.txt`` existed."""
    staging = home / "project" / "vouch_modules" / ".installing-XXXXXXXX"  # mkdtemp's length
    data = realpath_escape(dest_len=len(str(staging)))
    assert len(data) < 1500
    published(alice, "evil", "1.0.0", data)
    code, err = install(actors, home, {"evil": "1.0.0"})
    assert code == 1, err
    assert "evil@1.0.0: unsafe archive: 'a' is a symbolic link" in err
    assert "only regular files and directories are installed (no links)" in err
    assert "nothing was installed" in err
    assert not (home / "project" / "pwned.txt").exists()
    assert leftovers(home) == []


@pytest.mark.parametrize("data, reason", [
    (hardlink_overwrite("../../../victim.txt"), "'package/hl' is a hard link"),
    (build([symlink("package/lnk", "../../.."), member("package/lnk/x.txt", b"x")]),
     "'package/lnk' is a symbolic link (to '../../..')"),
    (build([member("package/ok.txt", b"ok"), symlink("package/docs", "ok.txt")]),
     "'package/docs' is a symbolic link (to 'ok.txt')"),
    (build([member("package/../../../escape.txt", b"x")]),
     "'package/../../../escape.txt' contains a '..' component"),
    (build([special("package/pipe", b"6")]), "'package/pipe' is a FIFO"),
    (build([member("package/a.js", b"1"), member("package/A.js", b"2")]),
     "'package/A.js' and 'package/a.js' name the same path on case-insensitive"),
], ids=["hardlink", "symlink-out", "symlink-in", "dotdot", "fifo", "case-duplicate"])
def test_hostile_members_are_refused(actors: Actors, alice: httpx.Client, home: Path,
                                     data: bytes, reason: str) -> None:
    (home / "victim.txt").write_text("untouched")
    published(alice, "evil", "1.0.0", data)
    code, err = install(actors, home, {"evil": "1.0.0"})
    assert code == 1, err
    assert f"evil@1.0.0: unsafe archive: {reason}" in err
    assert (home / "victim.txt").read_text() == "untouched"
    (home / "victim.txt").unlink()
    assert leftovers(home) == []


def test_gzip_bomb_over_the_default_cap(actors: Actors, alice: httpx.Client,
                                        home: Path) -> None:
    """~1 MB of gzip declaring 1 GiB + 1 MiB: refused on its header by the default 1 GiB cap,
    before its data is decompressed."""
    data = gzip_bomb(declared=(1 << 30) + (1 << 20))
    assert len(data) < 2 << 20
    published(alice, "bomb", "1.0.0", data)
    code, err = install(actors, home, {"bomb": "1.0.0"})
    assert code == 1, err
    assert ("bomb@1.0.0: 'package/zeros.bin' (1074790400 bytes (1.0 GiB)) takes the archive "
            "past its extraction limit of 1073741824 bytes (1.0 GiB); nothing was installed. "
            "If you trust this package, raise the limit with VOUCH_MAX_EXTRACT_BYTES or "
            "max_extract_bytes in ") in err
    assert leftovers(home) == []


def test_byte_cap_from_config_file_and_environment(actors: Actors, alice: httpx.Client,
                                                   home: Path) -> None:
    published(alice, "bomb", "1.0.0", gzip_bomb(declared=16 << 20))
    config = home / "no-config.toml"  # the path cli_env gives VOUCH_CONFIG
    config.write_text("max_extract_bytes = 8_388_608\n")
    code, err = install(actors, home, {"bomb": "1.0.0"})
    assert code == 1, err
    assert "extraction limit of 8388608 bytes (8.0 MiB)" in err
    assert f"max_extract_bytes in {config}" in err
    assert [p for p in leftovers(home) if p != "no-config.toml"] == []

    code, err = install(actors, home, {"bomb": "1.0.0"}, VOUCH_MAX_EXTRACT_BYTES=str(32 << 20))
    assert code == 0, err
    assert (home / "project" / "vouch_modules" / "bomb" / "package" / "zeros.bin"
            ).stat().st_size == 16 << 20


def test_member_cap_from_the_environment(actors: Actors, alice: httpx.Client,
                                         home: Path) -> None:
    published(alice, "crowd", "1.0.0", many_members(60))
    code, err = install(actors, home, {"crowd": "1.0.0"}, VOUCH_MAX_EXTRACT_FILES="50")
    assert code == 1, err
    assert ("crowd@1.0.0: the archive has more than 50 members, its extraction limit; "
            "nothing was installed. If you trust this package, raise the limit with "
            "VOUCH_MAX_EXTRACT_FILES or max_extract_files in") in err
    assert leftovers(home) == []
    code, err = install(actors, home, {"crowd": "1.0.0"}, VOUCH_MAX_EXTRACT_FILES="bad")
    assert code == 2 and "VOUCH_MAX_EXTRACT_FILES must be a positive whole number" in err


def test_a_failed_install_leaves_the_previous_one_intact(actors: Actors, alice: httpx.Client,
                                                         home: Path) -> None:
    good = build([directory("package", mode=0o777),
                  member("package/run.sh", b"#!/bin/sh\n", mode=0o6777),
                  member("package/data.txt", b"v1", mode=0o666)])
    published(alice, "lib", "1.0.0", good)
    published(alice, "lib", "1.0.1", hardlink_overwrite("package/data.txt"))
    published(alice, "helper", "1.0.0", build([member("package/h.txt", b"h")]))
    code, err = install(actors, home, {"lib": "1.0.0"})
    assert code == 0, err
    modules = home / "project" / "vouch_modules"
    before = {p.relative_to(modules).as_posix(): p.read_bytes()
              for p in modules.rglob("*") if p.is_file()}
    # setuid/setgid and world-writable bits are not installed
    assert stat.S_IMODE((modules / "lib" / "package" / "run.sh").stat().st_mode) & 0o7022 == 0
    assert stat.S_IMODE((modules / "lib" / "package" / "data.txt").stat().st_mode) & 0o7133 == 0
    assert stat.S_IMODE((modules / "lib" / "package").stat().st_mode) & 0o7022 == 0

    # helper would unpack fine, lib 1.0.1 does not: neither is installed, 1.0.0 stays
    code, err = install(actors, home, {"helper": "1.0.0", "lib": "1.0.1"})
    assert code == 1, err
    assert "lib@1.0.1: unsafe archive: 'package/hl' is a hard link" in err
    after = {p.relative_to(modules).as_posix(): p.read_bytes()
             for p in modules.rglob("*") if p.is_file()}
    assert after == before
    assert json.loads((modules / "lib" / ".vouch.json").read_text())["version"] == "1.0.0"
    assert sorted(p.name for p in modules.iterdir()) == ["lib"]  # no .installing-*, .old-*
