"""`vouch verify NAME@VERSION ... | --lockfile vouch.lock | --requirements requirements.txt`
(exit 0 ok, 1 failed, 2 usage, 3 could not check)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from client import output
from client.api import RegistryClient
from client.config import load_config
from client.errors import UsageError
from client.specs import split_spec

if TYPE_CHECKING:
    from client.verify import Target
    from client.verify_policy import VerifyOptions

# client.verify pulls in signing/ (sigstore, cryptography) and advisories/: imported when the
# command runs, so that every other `vouch` command starts fast.


def verify_command(
    specs: list[str] = typer.Argument(None, help="NAME@VERSION entries"),
    lockfile: Path | None = typer.Option(None, "--lockfile", help="verify every locked entry"),
    requirements: Path | None = typer.Option(
        None, "--requirements", "-r",
        help="verify a pip requirements file (pinned name==version, optional --hash)"),
    as_json: bool = typer.Option(False, "--json"),
    identity: str | None = typer.Option(None, "--identity", help="pin the Sigstore SAN"),
    issuer: str | None = typer.Option(None, "--issuer", help="pin the OIDC issuer"),
    repository: str | None = typer.Option(None, "--repository", help="pin GitHub OWNER/REPO"),
    workflow: str | None = typer.Option(None, "--workflow", help="pin the workflow file"),
    gpg_fingerprint: str | None = typer.Option(None, "--gpg-fingerprint"),
    trust: str = typer.Option(os.environ.get("VOUCH_SIGSTORE_TRUST", "public-good"), "--trust",
                              help="public-good, staging, or a trusted_root.json path"),
    fail_on: str = typer.Option("low", "--fail-on",
                                help="lowest advisory severity that fails: low, moderate, high, "
                                     "critical"),
    ignore: list[str] = typer.Option([], "--ignore",
                                     help="ADVISORY-ID[:YYYY-MM-DD[:reason]] to accept"),
    allow_unsigned: bool = typer.Option(False, "--allow-unsigned",
                                        help="report unsigned entries as warnings"),
) -> None:
    """Check artifacts before installing: checksums, signatures, transparency log,
    advisories, deprecation and quarantine. Installs and runs nothing."""
    from client.verify import verify_targets
    from client.verify_policy import IdentityPins, VerifyOptions, parse_ignores

    if requirements is not None and (specs or lockfile):
        raise UsageError("give --requirements alone, without NAME@VERSION or --lockfile")
    targets = _targets(specs or [], lockfile) if requirements is None else []
    options = VerifyOptions(
        pins=IdentityPins(identity=identity, issuer=issuer, repository=repository,
                          workflow=workflow, gpg_fingerprint=gpg_fingerprint),
        trust=trust, fail_on=fail_on, allow_unsigned=allow_unsigned)
    options = VerifyOptions(pins=options.pins, trust=trust, fail_on=fail_on,
                            allow_unsigned=allow_unsigned,
                            ignores=parse_ignores(ignore, options.today))
    options.pins.policies()  # malformed pins are usage errors before any request
    if requirements is not None:
        _verify_requirements(requirements, options, as_json)
    with RegistryClient(load_config()) as api, Progress(
            TextColumn("verifying"), BarColumn(), MofNCompleteColumn(), console=output.err,
            disable=len(targets) < 20 or not output.err.is_terminal) as bar:
        task = bar.add_task("verify", total=len(targets))
        report = verify_targets(api, targets, options, progress=lambda: bar.advance(task))
    if as_json:
        output.emit_json(report.to_json())
    else:
        output.out.print(report.render_text(), markup=False)
    sys.exit(report.exit_code)


def _verify_requirements(path: Path, options: VerifyOptions, as_json: bool) -> None:
    """``--requirements``: pip's pins through the Python API (``client.requirements``)."""
    from client.requirements import parse_requirements, verify_requirements

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"cannot read {path}: {err}") from err
    pins = parse_requirements(text, str(path))
    with RegistryClient(load_config()) as api:
        report = verify_requirements(api, pins, options)
    if as_json:
        output.emit_json(report.to_json())
    else:
        output.out.print(report.render_text(), markup=False)
    sys.exit(report.exit_code)


def _targets(specs: list[str], lockfile: Path | None) -> list[Target]:
    from client.verify import Target
    from versions.lockfile import InvalidLockfile, Lockfile

    if bool(specs) == bool(lockfile):
        raise UsageError("give NAME@VERSION entries or --lockfile, not both or neither")
    if lockfile is not None:
        try:
            locked = Lockfile.loads(lockfile.read_text())
        except (OSError, InvalidLockfile) as err:
            raise UsageError(f"cannot read {lockfile}: {err}") from err
        return [Target(p.name, p.version, p.sha256, p.sha512) for p in locked.packages]
    return [Target(*split_spec(spec)) for spec in specs]
