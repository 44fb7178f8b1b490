"""`vouch lock` and `vouch install [NAME[@RANGE]...]` for the project in the current directory.

    vouch install left-pad@^1.0.0 is-odd     # add to vouch.toml (created if needed), lock, install
    vouch install                            # install vouch.lock (locking first if missing)
    vouch lock --json

Resolution prefers versions that pass the consumer's policy (signed unless --allow-unsigned,
not deprecated, never quarantined, not affected with --avoid-vulnerable) and says when it had
to fall back. A failed verification names the narrowest option that accepts it
(``--allow-unsigned``, ``--ignore ID:UNTIL:REASON``); nothing is installed. A cache entry that
no longer matches its digest is reported (and fetched again), never silently repaired.
"""

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
    from client.verify import Report
    from versions.lockfile import Lockfile

# The resolver, advisories and signing code load when a command runs (fast CLI start-up).

AvoidFlag = typer.Option(False, "--avoid-vulnerable",
                         help="never pick versions affected by a published advisory")
AllowUnsignedFlag = typer.Option(False, "--allow-unsigned",
                                 help="accept unsigned packages (reported as warnings); "
                                      "without it, locking prefers signed versions")
JsonFlag = typer.Option(False, "--json", help="machine-readable output on stdout")


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


def _lock(api: RegistryClient, project: Project, *, allow_unsigned: bool,
          avoid_vulnerable: bool, as_json: bool) -> tuple[Lockfile, list[str]]:
    from client.install import lock
    from client.preference import Preferences

    notes: list[str] = []
    prefs = Preferences(api, require_signed=not allow_unsigned,
                        avoid_vulnerable=avoid_vulnerable)
    lockfile = lock(api, project, preferences=prefs, notes=notes)
    if not as_json:
        for note in notes:
            output.warn(note)
    return lockfile, notes


def _locked_summary(lockfile: Lockfile) -> list[dict[str, Any]]:
    return [{"name": p.name, "version": p.version, "sha256": p.sha256}
            for p in lockfile.packages]


def lock_command(avoid_vulnerable: bool = AvoidFlag, allow_unsigned: bool = AllowUnsignedFlag,
                 as_json: bool = JsonFlag) -> None:
    """Resolve vouch.toml and write vouch.lock (exact versions, URLs, integrity)."""
    project = Project.load(Path.cwd())
    with RegistryClient(load_config()) as api:
        lockfile, notes = _lock(api, project, allow_unsigned=allow_unsigned,
                                avoid_vulnerable=avoid_vulnerable, as_json=as_json)
    _write_lock(project, lockfile)
    if as_json:
        output.emit_json({"lockfile": str(project.lock_path),
                          "packages": _locked_summary(lockfile), "notes": notes})
    else:
        count = len(lockfile.packages)
        output.out.print(f"locked {count} package{'' if count == 1 else 's'} in "
                         f"{project.lock_path.name}")


def _added(specs: list[str]) -> dict[str, str]:
    from client.specs import parse_dependency

    added: dict[str, str] = {}
    for spec in specs:
        name, wanted = parse_dependency(spec)
        if not name:
            raise UsageError(f"expected NAME[@RANGE], got {spec!r}")
        added[name] = wanted
    return added


def _pin_bare_names(project: Project, lockfile: Lockfile, bare: list[str]) -> Project:
    """``vouch install NAME`` records ``^VERSION`` of the version it picked (as npm does)."""
    chosen = {p.name: p.version for p in lockfile.packages}
    pinned = {name: f"^{chosen[name]}" for name in bare if name in chosen}
    return project.with_dependencies(pinned)


def _hint(report: Report) -> str:
    """The narrowest flag that would accept what failed (never --no-verify first)."""
    hints: list[str] = []
    for entry in report.entries:
        for finding in entry.findings:
            if finding.outcome != "fail":
                continue
            if finding.check == "signature" and finding.message == "unsigned":
                hints.append("--allow-unsigned (accept unsigned packages)")
            elif finding.check == "advisory":
                advisory_id = finding.message.split(" ", 1)[0]
                hints.append(f"--ignore {advisory_id}:YYYY-MM-DD:REASON (accept this advisory "
                             "until a date, after reading it)")
    hints = list(dict.fromkeys(hints))
    if not hints:
        return "nothing was installed"
    return "nothing was installed; if you accept the risk: " + "; ".join(hints)


def _warn_corrupt_cache(api: RegistryClient, lockfile: Lockfile) -> list[str]:
    """Check each locked artifact's cache entry; a tampered one is removed and reported."""
    found = []
    for locked in lockfile.packages:
        if api.cache.check(locked.sha256) == "corrupt":
            message = (f"the cached artifact of {locked.name}@{locked.version} (sha256 "
                       f"{locked.sha256}) did not match its digest (tampered or corrupted); "
                       f"it was removed and is downloaded again")
            output.warn(message)
            found.append(message)
    return found


def install_command(
    specs: list[str] = typer.Argument(None, help="NAME[@RANGE] to add to vouch.toml first"),
    avoid_vulnerable: bool = AvoidFlag,
    no_verify: bool = typer.Option(False, "--no-verify",
                                   help="skip signature and advisory checks (checksums stay)"),
    fail_on: str = typer.Option("low", "--fail-on",
                                help="advisory severity that blocks the install"),
    allow_unsigned: bool = AllowUnsignedFlag,
    ignore: list[str] = typer.Option([], "--ignore",
                                     help="ADVISORY-ID[:YYYY-MM-DD[:reason]] to accept"),
    as_json: bool = JsonFlag,
) -> None:
    """Install the locked versions (resolving and locking first if there is no vouch.lock).

    With NAME[@RANGE] arguments, add them to vouch.toml (creating it), lock and install."""
    from client.extract import ExtractLimits
    from client.install import check_against_registry, fetch_all, place_all
    from client.verify_policy import VerifyOptions, parse_ignores

    options = VerifyOptions(fail_on=fail_on, allow_unsigned=allow_unsigned)
    options = VerifyOptions(fail_on=fail_on, allow_unsigned=allow_unsigned,
                            ignores=parse_ignores(ignore, options.today))
    added = _added(specs or [])
    project = Project.load(Path.cwd(), missing_ok=bool(added))
    bare = [name for name, wanted in added.items() if wanted == "*"
            and name not in project.dependencies]
    if added:
        project = project.with_dependencies(added)
    notes: list[str] = []
    with RegistryClient(load_config()) as api:
        lockfile = None if added else _read_lock(project)
        fresh = lockfile is None
        if lockfile is None:
            lockfile, notes = _lock(api, project, allow_unsigned=allow_unsigned,
                                    avoid_vulnerable=avoid_vulnerable, as_json=as_json)
        elif dict(lockfile.root) != dict(project.dependencies):
            raise ClientError("vouch.lock does not match vouch.toml: run `vouch lock`")
        check_against_registry(api, lockfile)
        notes += _warn_corrupt_cache(api, lockfile)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      console=output.err, disable=not output.err.is_terminal) as bar:
            task = bar.add_task("downloading", total=len(lockfile.packages))
            artifacts = fetch_all(api, lockfile, progress=lambda _: bar.advance(task))
        if not no_verify:
            from client.verify import Target, verify_targets

            targets = [Target(p.name, p.version, p.sha256, p.sha512) for p in lockfile.packages]
            report = verify_targets(api, targets, options, artifacts=artifacts)
            if not report.ok:
                if not as_json:
                    output.err.print(report.render_text())
                raise ClientError(f"verification failed; {_hint(report)}",
                                  code="verification_failed",
                                  problem={"report": report.to_json()})
        limits = ExtractLimits(max_bytes=api.config.max_extract_bytes,
                               max_files=api.config.max_extract_files)
        placed = place_all(project.target, lockfile, artifacts, limits)
    if added:
        project = _pin_bare_names(project, lockfile, bare)
        from versions.lockfile import Lockfile as LockfileType

        lockfile = LockfileType(root=dict(sorted(project.dependencies.items())),
                                packages=lockfile.packages)
        project.save()
    if fresh:
        _write_lock(project, lockfile)
    if as_json:
        output.emit_json({"installed": [{"name": p.name, "version": p.version,
                                         "path": str(p.path)} for p in placed],
                          "target": str(project.target), "notes": notes,
                          "added": {n: project.dependencies[n] for n in added}})
    else:
        output.out.print(f"installed {len(placed)} package{'' if len(placed) == 1 else 's'} "
                         f"into {project.target.name}/")
