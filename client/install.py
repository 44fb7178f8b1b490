"""`vouch lock` and `vouch install`: resolve, lock, download through the cache, place.

    lockfile = lock(api, project)                 # resolve and build a Lockfile
    install(api, project, lockfile)               # verify everything, then place packages

Install is all-or-nothing up to placement: every locked digest is first compared with what the
registry serves now, and every artifact is downloaded and hashed (sha256 and sha512) into the
content-addressed cache. Only when all of that holds is anything written to ``vouch_modules``;
each package directory is built under a temporary name and renamed into place, so an
interrupted install never leaves a half-written package. Mismatches raise ``IntegrityError``.
"""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from client.api import RegistryClient
from client.cache import same_digest
from client.errors import ClientError, IntegrityError
from client.project import Project
from client.source import RegistrySource
from versions.errors import VersionsError
from versions.lockfile import LockedPackage, Lockfile
from versions.resolver import resolve

Avoid = Callable[[str, object], bool]


def lock(api: RegistryClient, project: Project, *, avoid: Avoid | None = None) -> Lockfile:
    """Resolve the project's requirements against the registry; raises ``ClientError``."""
    source = RegistrySource(api, ttl=60.0)
    source.prefetch(list(project.dependencies))
    try:
        resolution = resolve(project.dependencies, source, avoid=avoid)
    except VersionsError as err:  # no solution, or a malformed range in vouch.toml
        raise ClientError(str(err), code=err.code) from err
    packages = []
    for name in sorted(resolution):
        version = str(resolution[name])
        meta = source.version(name, version)
        assert meta is not None and meta["artifact_url"]
        packages.append(LockedPackage(
            name=name, version=version, url=api.config.registry + meta["artifact_url"],
            sha256=meta["sha256"], sha512=meta["sha512"],
            dependencies=dict(sorted(meta["dependencies"].items()))))
    return Lockfile(root=dict(sorted(project.dependencies.items())), packages=packages)


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
    for locked in lockfile.packages:
        meta = source.version(locked.name, locked.version)
        if meta is None or not meta["artifact_url"]:
            problems.append(f"{locked.name}@{locked.version} is not available from the registry"
                            + (" (quarantined)" if meta and meta["quarantined"] else ""))
        elif not (same_digest(meta["sha256"], locked.sha256)
                  and same_digest(meta["sha512"], locked.sha512)):
            problems.append(f"{locked.name}@{locked.version}: the lockfile says sha256 "
                            f"{locked.sha256}, the registry serves {meta['sha256']}")
    if problems:
        raise IntegrityError("lockfile integrity check failed; nothing was installed:\n  "
                             + "\n  ".join(problems), code="lockfile_mismatch")


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


def place_all(target: Path, lockfile: Lockfile, artifacts: dict[str, Path]) -> list[Placed]:
    target.mkdir(parents=True, exist_ok=True)
    return [place(target, locked, artifacts[locked.name]) for locked in lockfile.packages]


def place(target: Path, locked: LockedPackage, artifact: Path) -> Placed:
    """Build the package directory beside its destination, then swap it in by renaming."""
    destination = target / locked.name
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=destination.parent, prefix=".installing-"))
    try:
        _unpack(artifact, staging, locked)
        (staging / ".vouch.json").write_text(json.dumps(
            {"name": locked.name, "version": locked.version, "sha256": locked.sha256},
            sort_keys=True))
        old = None
        if destination.exists():
            old = destination.with_name(f".old-{destination.name}-{os.getpid()}")
            os.replace(destination, old)
        os.replace(staging, destination)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Placed(locked.name, locked.version, destination)


def _unpack(artifact: Path, into: Path, locked: LockedPackage) -> None:
    """Tarballs are extracted with the ``data`` filter (no absolute paths, no ``..``, no
    links outside, no device files); anything else is copied as one file."""
    if tarfile.is_tarfile(artifact):
        try:
            with tarfile.open(artifact) as archive:
                archive.extractall(into, filter="data")
            return
        except (tarfile.TarError, OSError) as err:
            raise IntegrityError(
                f"{locked.name}@{locked.version}: unsafe or corrupt archive: {err}",
                code="unsafe_archive") from err
    shutil.copyfile(artifact, into / f"{locked.name.rsplit('/', 1)[-1]}-{locked.version}")
