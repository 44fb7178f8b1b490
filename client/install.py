"""`vouch lock` and `vouch install`: resolve, lock, download through the cache, place.

    lockfile = lock(api, project)                 # resolve and build a Lockfile
    check_against_registry(api, lockfile)
    artifacts = fetch_all(api, lockfile)          # download + hash into the cache
    place_all(project.target, lockfile, artifacts, ExtractLimits(1 << 30, 100_000))

Install is all-or-nothing: every locked digest is first compared with what the registry serves
now, and every artifact is downloaded and hashed (sha256 and sha512) into the
content-addressed cache. Only when all of that holds is anything written to ``vouch_modules``:
every package is unpacked by ``client.extract`` (no links, nothing outside the package
directory, byte and member limits) into a fresh ``.installing-*`` directory beside its
destination, and only when all of them are complete are they renamed into place. Any failure
removes every staging directory and leaves the previous install untouched. Mismatches raise
``IntegrityError``; hostile or oversized archives its subclasses ``UnsafeArchive`` and
``ArchiveTooLarge``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from client.api import RegistryClient
from client.cache import same_digest
from client.config import EXTRACT_LIMIT_SETTINGS, config_path
from client.errors import ClientError, IntegrityError
from client.extract import (
    NEW_FILE_FLAGS,
    ArchiveError,
    ArchiveTooLarge,
    ExtractLimits,
    UnsafeArchive,
    extract_tarball,
)
from client.preference import Preferences
from client.project import Project
from client.source import RegistrySource
from versions.errors import VersionsError
from versions.lockfile import LockedPackage, Lockfile
from versions.resolver import resolve

Avoid = Callable[[str, object], bool]


def lock(api: RegistryClient, project: Project, *, avoid: Avoid | None = None,
         preferences: Preferences | None = None,
         notes: list[str] | None = None) -> Lockfile:
    """Resolve the project's requirements against the registry; raises ``ClientError``.

    With ``preferences`` (``client.preference``), versions that fail the consumer's policy
    (unsigned, affected) are picked only when nothing else satisfies the ranges; each such
    fallback, and each deprecated pick, is appended to ``notes`` in words.
    """
    # Fresh metadata (cached only for this run): a resolution from minutes-old metadata
    # would pick a version unpublished since, or miss one published since, and then fail
    # check_against_registry, which reads fresh metadata too. One batch per graph level.
    source = RegistrySource(api, ttl=0.0)
    source.prefetch(list(project.dependencies))
    if preferences is not None:
        preferences.source = source
        if preferences.active:
            avoid = preferences.avoid
    try:
        resolution = resolve(project.dependencies, source, avoid=avoid)
    except VersionsError as err:  # no solution, or a malformed range in vouch.toml
        raise ClientError(str(err), code=err.code) from err

    def artifact(name: str, version: str) -> tuple[str, str, str]:
        meta = source.version(name, version)
        assert meta is not None and meta["artifact_url"]
        return api.config.registry + meta["artifact_url"], meta["sha256"], meta["sha512"]

    locked = Lockfile.from_resolution(
        dict(sorted(project.dependencies.items())),
        {name: resolution.versions[name] for name in sorted(resolution)},
        resolution.dependencies, artifact)
    if notes is not None:
        for name in resolution.avoided:
            why = (preferences.reasons(name, str(resolution[name])) if preferences is not None
                   else ["flagged"])
            notes.append(f"{name}@{resolution[name]} is {' and '.join(why)}: no version that "
                         "passes your policy satisfies the requirements, so it fell back to it")
        for name, message in sorted(resolution.deprecated.items()):
            notes.append(f"{name}@{resolution[name]} is deprecated ({message}): no other "
                         "version satisfies the requirements")
    return locked


@dataclass(frozen=True)
class Placed:
    name: str
    version: str
    path: Path


def check_against_registry(api: RegistryClient, lockfile: Lockfile) -> None:
    """Every locked digest must equal what the registry serves now (fresh metadata)."""
    source = RegistrySource(api, ttl=0.0)
    source.prefetch([p.name for p in lockfile.packages])
    problems = []
    gone = False
    for locked in lockfile.packages:
        meta = source.version(locked.name, locked.version)
        if meta is None or not meta["artifact_url"]:
            gone = True
            why = ("quarantined" if meta and meta["quarantined"] else
                   "unpublished" if meta and meta["unpublished"] else "")
            problems.append(f"{locked.name}@{locked.version} is not available from the registry"
                            + (f" ({why})" if why else ""))
        elif not (same_digest(meta["sha256"], locked.sha256)
                  and same_digest(meta["sha512"], locked.sha512)):
            problems.append(f"{locked.name}@{locked.version}: the lockfile says sha256 "
                            f"{locked.sha256}, the registry serves {meta['sha256']}")
    if problems:
        # A version that is gone can be resolved again; a digest that differs cannot be
        # "fixed" by relocking without knowing why, so only the former gets the hint.
        hint = ("\nrun `vouch lock` to resolve vouch.toml again (it picks versions the "
                "registry serves), then `vouch install`" if gone else "")
        raise IntegrityError("lockfile integrity check failed; nothing was installed:\n  "
                             + "\n  ".join(problems) + hint, code="lockfile_mismatch")


def fetch_all(api: RegistryClient, lockfile: Lockfile,
              progress: Callable[[LockedPackage], None] | None = None,
              workers: int = 8) -> dict[str, Path]:
    """Download (or reuse from cache) and verify every artifact, concurrently."""
    def one(locked: LockedPackage) -> tuple[str, Path]:
        path = api.fetch_artifact(locked.url, locked.sha256, locked.sha512)
        if progress:
            progress(locked)
        return locked.name, path

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(pool.map(one, lockfile.packages))


def place_all(target: Path, lockfile: Lockfile, artifacts: dict[str, Path],
              limits: ExtractLimits) -> list[Placed]:
    """Build every package beside its destination, then swap them all into ``target``.

    All or nothing: if any package fails to unpack (``UnsafeArchive``, ``ArchiveTooLarge``,
    both ``IntegrityError``), every staging directory is removed, directories this call
    created are removed again, and what was installed before stays untouched. If a rename
    fails while swapping, the packages already swapped are put back.
    """
    created = _make_dirs(target)
    staged: list[_Staged] = []
    try:
        for locked in lockfile.packages:
            destination = package_dir(target, locked.name)
            created += _make_dirs(destination.parent)
            staged.append(_stage(destination, locked, artifacts[locked.name], limits))
        _swap_in(staged)
    except BaseException:
        for item in staged:
            shutil.rmtree(item.staging, ignore_errors=True)
        for directory in reversed(created):
            with contextlib.suppress(OSError):
                directory.rmdir()  # only if still empty
        raise
    return [Placed(s.locked.name, s.locked.version, s.destination) for s in staged]


def package_dir(target: Path, name: str) -> Path:
    """``target/name`` (``target/@scope/name``); raises ``IntegrityError`` (``invalid_name``)
    for a name that is not a registry package name: a hand-edited lockfile must not aim
    outside ``target``."""
    if not _PACKAGE_NAME.fullmatch(name) or ".." in name:
        raise IntegrityError(f"{name!r} is not a package name; nothing was installed",
                             code="invalid_name")
    return target.joinpath(*name.split("/"))


_PACKAGE_NAME = re.compile(r"(@[a-z0-9][a-z0-9._-]*/)?[a-z0-9][a-z0-9._-]*")
_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+_-]*")
METADATA_FILE = ".vouch.json"


@dataclass(frozen=True)
class _Staged:
    locked: LockedPackage
    destination: Path
    staging: Path


def _make_dirs(path: Path) -> list[Path]:
    """``mkdir -p``; returns the directories it created, outermost first."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    path.mkdir(parents=True, exist_ok=True)
    return list(reversed(missing))


def _stage(destination: Path, locked: LockedPackage, artifact: Path,
           limits: ExtractLimits) -> _Staged:
    """Unpack into a fresh ``.installing-*`` directory beside ``destination``."""
    staging = Path(tempfile.mkdtemp(dir=destination.parent, prefix=".installing-"))
    try:
        _unpack(artifact, staging, locked, limits)
        metadata = json.dumps({"name": locked.name, "version": locked.version,
                               "sha256": locked.sha256}, sort_keys=True)
        with os.fdopen(os.open(staging / METADATA_FILE, NEW_FILE_FLAGS, 0o644), "wb") as out:
            out.write(metadata.encode())
        staging.chmod(0o755 & ~_umask())  # mkdtemp made it 0700
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return _Staged(locked, destination, staging)


def _swap_in(staged: list[_Staged]) -> None:
    """Rename each staged tree onto its destination, keeping the old one aside (under a new
    ``.old-*`` name) until every rename succeeded; on failure the old trees go back."""
    done: list[tuple[_Staged, Path | None]] = []
    try:
        for item in staged:
            old = None
            if os.path.lexists(item.destination):
                old = item.destination.with_name(
                    f".old-{item.destination.name}-{secrets.token_hex(8)}")
                os.replace(item.destination, old)
            try:
                os.replace(item.staging, item.destination)
            except BaseException:
                if old is not None:
                    os.replace(old, item.destination)
                raise
            done.append((item, old))
    except BaseException:
        for item, old in reversed(done):
            os.replace(item.destination, item.staging)  # the caller removes staging dirs
            if old is not None:
                os.replace(old, item.destination)
        raise
    for _, old in done:
        if old is not None:
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _unpack(artifact: Path, into: Path, locked: LockedPackage, limits: ExtractLimits) -> None:
    """Tarballs go through ``client.extract`` (no links, nothing outside ``into``, size and
    member limits); anything else is copied as one file. Errors name the package and, for a
    limit, the setting that raises it."""
    try:
        if tarfile.is_tarfile(artifact):
            extract_tarball(artifact, into, limits, reserved=(METADATA_FILE,))
            return
        if not _VERSION.fullmatch(locked.version):
            raise UnsafeArchive(f"{locked.version!r} is not a version")
        size = artifact.stat().st_size
        if size > limits.max_bytes:
            raise ArchiveTooLarge(f"the artifact ({size} bytes) is larger than the "
                                  f"extraction limit of {limits.max_bytes} bytes", limit="bytes")
        shutil.copyfile(artifact, into / f"{locked.name.rsplit('/', 1)[-1]}-{locked.version}")
    except ArchiveTooLarge as err:
        variable, key = EXTRACT_LIMIT_SETTINGS[err.limit]
        raise ArchiveTooLarge(
            f"{locked.name}@{locked.version}: {err.message}; nothing was installed. If you "
            f"trust this package, raise the limit with {variable} or {key} in {config_path()}",
            limit=err.limit) from err
    except ArchiveError as err:
        what = "unsafe archive: " if err.code == "unsafe_archive" else ""
        raise ArchiveError(f"{locked.name}@{locked.version}: {what}{err.message}; "
                           "nothing was installed", code=err.code) from err
