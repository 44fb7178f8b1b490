"""The `vouch` command line.

    vouch serve                                  # run the registry (embedded defaults)
    vouch admin create-user alice --admin
    vouch publish left-pad@1.0.0 ./left-pad.tgz --description "pads"
    vouch info left-pad@1.0.0 --json
    vouch download left-pad@1.0.0 -o ./left-pad.tgz

Registry URL and token come from VOUCH_REGISTRY / VOUCH_TOKEN or the config file. Exit codes
are documented in ``client.errors``: 0 ok, 1 refused/failed check, 2 usage, 3 unreachable.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

import typer

from client import output, pypi_cli
from client.admin import admin_app
from client.admin import serve as run_server
from client.advisory_cli import advisory_app
from client.api import RegistryClient
from client.config import load_config
from client.errors import EXIT_USAGE, ClientError, UsageError
from client.flags import PUBLISH_FLAGS, name_flags
from client.ops import search_command
from client.ops import worker as run_worker
from client.org_cli import org_app
from client.project_cli import install_command, lock_command
from client.proxy_cli import proxy_app
from client.specs import parse_dependency, split_spec
from client.trust_cli import gpg_key_app, policy_app, publisher_app, trust_app
from client.verify_cli import verify_command

app = typer.Typer(help="Vouch: a package registry built for supply-chain security.",
                  no_args_is_help=True, pretty_exceptions_enable=False)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as dist_version

        try:
            number = dist_version("vouch")
        except PackageNotFoundError:
            number = "unknown"
        typer.echo(f"vouch {number}")
        raise typer.Exit()


@app.callback()
def _main(_version_flag: bool = typer.Option(False, "--version", callback=_version,
                                             is_eager=True, help="print the version")) -> None:
    """Vouch: a package registry built for supply-chain security."""


app.add_typer(admin_app, name="admin")
app.command("search")(search_command)
app.add_typer(org_app, name="org")
app.add_typer(proxy_app, name="proxy")
app.command("lock")(lock_command)
app.command("install")(install_command)
app.command("verify")(verify_command)
app.add_typer(advisory_app, name="advisory")
app.add_typer(publisher_app, name="trusted-publisher")
app.add_typer(gpg_key_app, name="gpg-key")
app.add_typer(policy_app, name="policy")
app.add_typer(trust_app, name="trust")

JsonFlag = typer.Option(False, "--json", help="machine-readable output on stdout")
FormatFlag = typer.Option("native", "--format",
                          help="the package's format: native (default) or pypi (a Python "
                               "project; names PEP 503, releases PEP 440)")


def _client() -> RegistryClient:
    return RegistryClient(load_config())


@app.command()
def serve(host: str = typer.Option("127.0.0.1", "--host"),
          port: int = typer.Option(8000, "--port"),
          workers: int = typer.Option(1, "--workers", min=1)) -> None:
    """Start the registry (applies pending migrations first).

    Clients that send a request too slowly are disconnected: its headers must arrive within
    VOUCH_REQUEST_HEADER_TIMEOUT (default 15s) of the connection opening or the previous
    response, its body may pause at most VOUCH_REQUEST_BODY_IDLE_TIMEOUT (30s) and must be
    complete within VOUCH_REQUEST_BODY_TIMEOUT (10m). Idle keep-alive connections close
    after 5 s.
    """
    run_server(host, port, workers)


@app.command()
def worker() -> None:
    """Run the outbox worker (search updates) for a scale-out deployment."""
    run_worker()


def _readable_file(path: Path, flag: str) -> Path:
    """``path`` if it is a readable file; else ``UsageError`` (exit 2) naming ``flag``."""
    if not path.is_file():
        what = "does not exist" if not path.exists() else "is not a file"
        raise UsageError(f"{flag} {path}: {what}")
    try:
        with path.open("rb"):
            pass
    except OSError as err:
        raise UsageError(f"{flag} {path}: cannot read it ({err.strerror})") from err
    return path


@app.command()
def publish(
    spec: str = typer.Argument(..., help="NAME@VERSION"),
    artifact: Path = typer.Argument(..., help="the file to publish"),
    metadata: Path | None = typer.Option(None, "--metadata", help="JSON file of metadata"),
    description: str | None = typer.Option(None, "--description"),
    license_: str | None = typer.Option(None, "--license"),
    repository: str | None = typer.Option(None, "--repository"),
    keyword: list[str] = typer.Option([], "--keyword"),
    dependency: list[str] = typer.Option([], "--dependency", "-d", help="name@range"),
    bundle: Path | None = typer.Option(None, "--bundle", help="Sigstore bundle"),
    gpg_signature: Path | None = typer.Option(
        None, "--gpg-signature",
        help="detached GPG signature (gpg --armor --detach-sign ARTIFACT; register the key "
             "first with `vouch gpg-key add`)"),
    as_json: bool = JsonFlag,
) -> None:
    """Publish ARTIFACT as NAME@VERSION (signed with --gpg-signature or --bundle).

    A missing or unreadable file is a usage error (exit 2). Registry errors name the flags
    (``--bundle``, ``--gpg-signature``), not the form fields the request uses.
    """
    from client.cache import file_digests

    name, version = split_spec(spec)
    _readable_file(artifact, "ARTIFACT")
    for flag, given in (("--bundle", bundle), ("--gpg-signature", gpg_signature),
                        ("--metadata", metadata)):
        if given is not None:
            _readable_file(given, flag)
    meta: dict[str, Any] = {}
    if metadata:
        try:
            meta = json.loads(metadata.read_text())
        except (OSError, ValueError) as err:
            raise UsageError(f"cannot read --metadata {metadata}: {err}") from err
    for key, value in (("description", description), ("license", license_),
                       ("repository", repository)):
        if value is not None:
            meta[key] = value
    if keyword:
        meta["keywords"] = keyword
    if dependency:
        meta.setdefault("dependencies", {}).update(parse_dependency(d) for d in dependency)
    sha256, _ = file_digests(artifact)
    size = artifact.stat().st_size
    with _client() as api, name_flags(PUBLISH_FLAGS), \
            output.transfer_bar(f"uploading {name}@{version}", size) as progress:
        doc = api.publish(name, version, artifact, meta, sha256=sha256,
                          bundle=bundle.read_bytes() if bundle else None,
                          gpg_signature=gpg_signature.read_bytes() if gpg_signature else None,
                          progress=progress)
    if as_json:
        output.emit_json(doc)
    else:
        output.out.print(f"published {doc['name']}@{doc['version']} sha256 {doc['sha256']}")


@app.command()
def info(spec: str = typer.Argument(..., help="NAME or NAME@VERSION"),
         as_json: bool = JsonFlag, fmt: str = FormatFlag) -> None:
    """Show a package, or one version (signer, digests, deprecation, advisories)."""
    if pypi_cli.check_format(fmt) == "pypi":
        name, version = split_spec(spec) if "@" in spec[1:] else (spec, None)
        with _client() as api:
            project = pypi_cli.project(api, name, version)
        if as_json:
            output.emit_json(project)
        else:
            pypi_cli.print_project(project)
        return
    with _client() as api:
        if "@" in spec[1:]:
            name, version = split_spec(spec)
            doc = api.version(name, version)
        else:
            doc = api.package(spec)
    if as_json:
        output.emit_json(doc)
        return
    if "versions" in doc:
        _print_package(doc)
    else:
        _print_version(doc)
        _print_advisories(doc.get("advisories") or [])


def _print_package(doc: dict[str, Any]) -> None:
    output.out.print(f"{doc['name']} latest {doc['latest']}  "
                     f"downloads {doc['downloads']}  status {doc['status']}")
    for v in doc["versions"]:
        marks = [m for m, on in (("unpublished", v["unpublished"]),
                                 ("quarantined", v["quarantined"])) if on]
        if v["deprecated"]:
            marks.append(f"deprecated: {v['deprecated']}")
        output.out.print(f"  {v['version']:<20} {v['published_at']}  {'; '.join(marks)}")


def _print_version(doc: dict[str, Any]) -> None:
    output.out.print(f"{doc['name']}@{doc['version']}  {doc['description'] or ''}")
    for label in ("license", "repository", "published_at", "published_by", "sha256", "sha512",
                  "size", "downloads"):
        value = doc.get(label)
        output.out.print(f"  {label:<13} {'-' if value is None or value == '' else value}")
    if doc.get("dependencies"):
        deps = ", ".join(f"{k} {v}" for k, v in sorted(doc["dependencies"].items()))
        output.out.print(f"  {'dependencies':<13} {deps}")
    signer = doc.get("signer")
    if signer:
        ident = signer["identity"]
        who = ident.get("identity") or ident.get("fingerprint") or ident
        output.out.print(f"  {'signed':<13} {signer['method']} by {who}")
    else:
        output.out.print(f"  {'signed':<13} unsigned", style="yellow")
    if doc.get("deprecated"):
        output.out.print(f"  DEPRECATED: {doc['deprecated']}", style="yellow")
    if doc.get("unpublished"):
        output.out.print("  UNPUBLISHED", style="red")
    if doc.get("quarantined"):
        output.out.print("  QUARANTINED", style="red")


def _print_advisories(advisories: list[dict[str, Any]]) -> None:
    """The advisories that affect this version (the registry's version document lists them)."""
    if not advisories:
        output.out.print(f"  {'advisories':<13} none known")
        return
    count = len(advisories)
    output.out.print(f"  {'advisories':<13} {count} affect{'s' if count == 1 else ''} this "
                     "version", style="red")
    for a in advisories:
        severity = a.get("severity") or "unknown severity"
        fixed = f"  fixed in {a['fixed']}" if a.get("fixed") else ""
        output.out.print(f"    {a.get('id')} ({severity}) {a.get('summary') or ''}{fixed}")


@app.command()
def download(spec: str = typer.Argument(..., help="NAME@VERSION"),
             output_path: Path | None = typer.Option(None, "-o", "--output"),
             as_json: bool = JsonFlag) -> None:
    """Download an artifact through the local cache; its sha256 is checked before writing."""
    name, version = split_spec(spec)
    with _client() as api:
        doc = api.version(name, version)
        if not doc.get("artifact_url"):
            raise ClientError(f"{name}@{version} has no artifact to download")
        if api.cache.check(doc["sha256"]) == "corrupt":
            output.warn(f"the cached artifact of {name}@{version} (sha256 {doc['sha256']}) "
                        "did not match its digest (tampered or corrupted); it was removed "
                        "and is downloaded again")
        with output.transfer_bar(f"{name}@{version}", doc.get("size")) as progress:
            cached = api.fetch_artifact(doc["artifact_url"], doc["sha256"], doc["sha512"],
                                        progress=progress)
    target = output_path or Path(doc["filename"])
    tmp = target.with_name(f".{target.name}.part")
    shutil.copyfile(cached, tmp)
    os.replace(tmp, target)
    if as_json:
        output.emit_json({"path": str(target), "sha256": doc["sha256"], "size": doc["size"]})
    else:
        output.out.print(f"saved {target} (sha256 {doc['sha256']} verified)")


@app.command()
def unpublish(spec: str = typer.Argument(..., help="NAME@VERSION"),
              as_json: bool = JsonFlag, fmt: str = FormatFlag) -> None:
    """Unpublish within the grace period (the number stays burned forever)."""
    name, version = split_spec(spec)
    with _client() as api:
        if pypi_cli.check_format(fmt) == "pypi":
            pypi_cli.unpublish(api, name, version)
        else:
            api.unpublish(name, version)
    if as_json:
        output.emit_json({"name": name, "version": version, "unpublished": True})
    else:
        output.out.print(f"unpublished {name}@{version}")


@app.command()
def deprecate(spec: str = typer.Argument(..., help="NAME@VERSION"),
              message: str | None = typer.Option(None, "--message", "-m"),
              undo: bool = typer.Option(False, "--undo", help="remove the deprecation"),
              as_json: bool = JsonFlag, fmt: str = FormatFlag) -> None:
    """Deprecate a version with a message (or --undo); for --format pypi, a yank."""
    name, version = split_spec(spec)
    if not undo and not message:
        raise UsageError("give --message, or --undo to undeprecate")
    with _client() as api:
        if pypi_cli.check_format(fmt) == "pypi":
            pypi_cli.deprecate(api, name, version, None if undo else message)
            doc = None
        else:
            doc = api.deprecate(name, version, None if undo else message)
    if as_json:
        output.emit_json(doc if doc is not None else
                         {"name": name, "version": version, "deprecated": None})
    else:
        output.out.print(f"{'undeprecated' if undo else 'deprecated'} {name}@{version}")


@app.command("audit-log")
def audit_log(package: str | None = typer.Option(None, "--package"),
              action: str | None = typer.Option(None, "--action"),
              actor: str | None = typer.Option(None, "--actor"),
              limit: int = typer.Option(50, "--limit", min=1, max=1000,
                                        help="how many events (newest first)"),
              before: int | None = typer.Option(None, "--before", min=1,
                                                help="only events with a smaller id (the "
                                                     "next page: the last id shown)"),
              as_json: bool = JsonFlag) -> None:
    """Show the registry's audit log, newest first (administrators). Page back with
    --before ID (the id of the last event shown)."""
    from client.audit import newest_events

    with _client() as api:
        events, more = newest_events(api, package=package, action=action, actor=actor,
                                     limit=limit, before=before)
    if as_json:
        output.emit_json(events)
        return
    for e in events:
        output.out.print(f"{e['id']:>7}  {e['at']}  {e['actor'] or '-':<16} "
                         f"{e['action']:<36} {_audit_target(e)}")
    if more and events:
        same = "".join(f" --{flag} {shlex.quote(str(value))}" for flag, value in
                       (("package", package), ("action", action), ("actor", actor),
                        ("limit", limit if limit != 50 else None)) if value is not None)
        output.err.print(f"older events exist: vouch audit-log{same} --before {events[-1]['id']}")
    elif not events:
        output.err.print("no events" + (" older than that" if before is not None else ""))


def _audit_target(event: dict[str, Any]) -> str:
    """What an audit event is about, in one word or two: ``NAME@VERSION``, the package, or
    (events about no package) the org, advisory, user or GPG key its details name."""
    if event.get("package"):
        return (f"{event['package']}@{event['version']}" if event.get("version")
                else str(event["package"]))
    details = event.get("details") or {}
    parts = [f"@{details['org']}" if details.get("org") else "",
             str(details.get("advisory_id") or ""),
             f"user {details['user']}" if details.get("user") else "",
             f"key {details['fingerprint']}" if details.get("fingerprint") else ""]
    return " ".join(p for p in parts if p)


def main() -> None:
    """Entry point: map client errors to documented exit codes. With ``--json`` on the command
    line, errors are one JSON object on stderr (``{"error": {"message", "code", ...}}``)."""
    as_json = "--json" in sys.argv[1:]
    try:
        app(standalone_mode=False)
    except ClientError as err:
        if as_json:
            output.emit_json_error(err.message, code=err.code, exit_code=err.exit_code,
                                   problem=err.problem)
        else:
            output.err.print("error", style="red", end="")
            output.err.print(f": {err.message}")
        sys.exit(err.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        sys.exit(130)
    except Exception as err:
        # Click's usage errors (missing argument, bad option) carry show() and exit_code.
        if hasattr(err, "show") and hasattr(err, "exit_code"):
            if as_json:
                message = err.format_message() if hasattr(err, "format_message") else str(err)
                output.emit_json_error(message, code="usage", exit_code=EXIT_USAGE)
            else:
                err.show()
            sys.exit(EXIT_USAGE)
        raise


if __name__ == "__main__":
    main()
