"""`vouch lock` and `vouch install` for the project in the current directory."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from client import output
from client.api import RegistryClient
from client.config import load_config
from client.errors import ClientError, UsageError
from client.project import Project

if TYPE_CHECKING:
    from versions.lockfile import Lockfile

# The resolver, advisories and signing code load when a command runs (fast CLI start-up).

AvoidFlag = typer.Option(False, "--avoid-vulnerable",
                         help="never pick versions affected by a published advisory")


def _avoid_vulnerable(api: RegistryClient, project: Project) -> Any:
    """An avoid hook for the resolver: versions with advisories are picked only if forced."""
    from client.advisory_check import fetch_advisories

    cache: dict[str, Any] = {}

    def avoid(name: str, version: object) -> bool:
        if name not in cache:
            cache[name] = fetch_advisories(api, [name])
        return bool(cache[name].query("Vouch", name, str(version)))

    return avoid


def _write_lock(project: Project, lockfile: Lockfile) -> None:
    tmp = project.lock_path.with_suffix(".lock.tmp")
    tmp.write_text(lockfile.dumps())
    tmp.replace(project.lock_path)


def _read_lock(project: Project) -> Lockfile | None:
    from versions.lockfile import InvalidLockfile, Lockfile

    if not project.lock_path.is_file():
        return None
    try:
        return Lockfile.loads(project.lock_path.read_text())
    except InvalidLockfile as err:
        raise UsageError(f"{project.lock_path}: {err}") from err


def lock_command(avoid_vulnerable: bool = AvoidFlag) -> None:
    """Resolve vouch.toml and write vouch.lock (exact versions, URLs, integrity)."""
    from client.install import lock

    project = Project.load(Path.cwd())
    with RegistryClient(load_config()) as api:
        avoid = _avoid_vulnerable(api, project) if avoid_vulnerable else None
        lockfile = lock(api, project, avoid=avoid)
    _write_lock(project, lockfile)
    output.out.print(f"locked {len(lockfile.packages)} packages in {project.lock_path.name}")


def install_command(
    avoid_vulnerable: bool = AvoidFlag,
    no_verify: bool = typer.Option(False, "--no-verify",
                                   help="skip signature and advisory checks (checksums stay)"),
    fail_on: str = typer.Option("low", "--fail-on",
                                help="advisory severity that blocks the install"),
    allow_unsigned: bool = typer.Option(False, "--allow-unsigned",
                                        help="install unsigned packages (reported as warnings)"),
) -> None:
    """Install the locked versions (resolving and locking first if there is no vouch.lock)."""
    from client.extract import ExtractLimits
    from client.install import check_against_registry, fetch_all, lock, place_all

    project = Project.load(Path.cwd())
    with RegistryClient(load_config()) as api:
        lockfile = _read_lock(project)
        fresh = lockfile is None
        if lockfile is None:
            avoid = _avoid_vulnerable(api, project) if avoid_vulnerable else None
            lockfile = lock(api, project, avoid=avoid)
        elif dict(lockfile.root) != dict(project.dependencies):
            raise ClientError("vouch.lock does not match vouch.toml: run `vouch lock`")
        check_against_registry(api, lockfile)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      console=output.err, disable=not output.err.is_terminal) as bar:
            task = bar.add_task("downloading", total=len(lockfile.packages))
            artifacts = fetch_all(api, lockfile, progress=lambda _: bar.advance(task))
        if not no_verify:
            from client.verify import verify_lockfile_entries

            report = verify_lockfile_entries(api, lockfile, artifacts, fail_on=fail_on,
                                             allow_unsigned=allow_unsigned)
            if not report.ok:
                output.err.print(report.render_text())
                raise ClientError("verification failed; nothing was installed "
                                  "(use --no-verify to skip signature/advisory checks)")
        limits = ExtractLimits(max_bytes=api.config.max_extract_bytes,
                               max_files=api.config.max_extract_files)
        placed = place_all(project.target, lockfile, artifacts, limits)
    if fresh:
        _write_lock(project, lockfile)
    output.out.print(f"installed {len(placed)} packages into {project.target.name}/")
