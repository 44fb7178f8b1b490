"""`vouch advisory ...`: the security team's commands for the registry's advisory database.

    vouch advisory new --package evil-pkg --introduced 1.0.0 --fixed 1.0.3 \\
        --summary "steals tokens" --malicious --publish
    vouch advisory edit x_VOUCH-2026-0001 --details "..."
    vouch advisory publish x_VOUCH-2026-0001
    vouch advisory withdraw x_VOUCH-2026-0001 --reason "duplicate of GHSA-..."
    vouch advisory import ./osv-dump/ more.json        # files or directories of OSV JSON
    vouch advisory export -o advisories.json            # or --dir out/ (one file per record)
    vouch advisory list --package requests --ecosystem PyPI --json
    vouch advisory quarantine x_VOUCH-2026-0001         # malicious advisories only

Ecosystems are given as Vouch names (``generic``, ``npm``, ``pypi``) or OSV names (``PyPI``).
``import`` reads the files here, sends the records in batches, and reports every invalid one
with its reasons (exit code 1 if any was invalid; the valid ones are imported anyway).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from advisories.ecosystems import to_osv_name
from client import output
from client.api import RegistryClient
from client.config import load_config
from client.errors import ClientError, UsageError

advisory_app = typer.Typer(help="Advisories: draft, publish, withdraw, import, export, list.",
                           no_args_is_help=True)

JsonFlag = typer.Option(False, "--json", help="machine-readable output on stdout")
BATCH = 500
BASE = "/api/v1/advisories"


def _client() -> RegistryClient:
    return RegistryClient(load_config())


def _url(advisory_id: str, action: str = "") -> str:
    from urllib.parse import quote

    return f"{BASE}/{quote(advisory_id, safe='')}" + (f"/{action}" if action else "")


def _json_object(file: Path | None, what: str) -> dict[str, Any]:
    """The JSON object in ``file`` (empty without one); raises ``UsageError`` otherwise."""
    if file is None:
        return {}
    loaded = _read_json(file)
    if not isinstance(loaded, dict):
        raise UsageError(f"{file} must hold a JSON object of {what}")
    return dict(loaded)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise UsageError(f"cannot read {path}: {err}") from err


def _show(doc: dict[str, Any], as_json: bool, verb: str) -> None:
    if as_json:
        output.emit_json(doc)
    else:
        output.out.print(f"{verb} {doc['id']} ({doc['state']}) {doc['summary']}")


@advisory_app.command("new")
def new(
    file: Path | None = typer.Option(None, "--file", "-f", help="OSV fields as a JSON object"),
    summary: str | None = typer.Option(None, "--summary"),
    details: str | None = typer.Option(None, "--details"),
    package: list[str] = typer.Option([], "--package", "-p", help="affected package name"),
    ecosystem: str = typer.Option("generic", "--ecosystem", "-e"),
    introduced: str = typer.Option("0", "--introduced", help="first affected version"),
    fixed: str | None = typer.Option(None, "--fixed", help="first fixed version"),
    last_affected: str | None = typer.Option(None, "--last-affected"),
    cvss: str | None = typer.Option(None, "--cvss", help="a CVSS v3/v4 vector"),
    alias: list[str] = typer.Option([], "--alias"),
    reference: list[str] = typer.Option([], "--reference", help="an advisory URL"),
    malicious: bool = typer.Option(False, "--malicious", help="a malicious package report"),
    publish: bool = typer.Option(False, "--publish", help="publish at once"),
    as_json: bool = JsonFlag,
) -> None:
    """Draft an advisory (id x_VOUCH-YYYY-NNNN) from --file and/or the options."""
    fields = _json_object(file, "OSV fields")
    if fixed and last_affected:
        raise UsageError("give --fixed or --last-affected, not both (OSV forbids it)")
    for key, value in (("summary", summary), ("details", details)):
        if value is not None:
            fields[key] = value
    if package:
        end = ({"fixed": fixed} if fixed else
               {"last_affected": last_affected} if last_affected else None)
        events = [{"introduced": introduced}] + ([end] if end else [])
        osv_name = to_osv_name(ecosystem)
        fields["affected"] = [*fields.get("affected", []), *(
            {"package": {"ecosystem": osv_name, "name": name},
             "ranges": [{"type": "ECOSYSTEM", "events": events}]} for name in package)]
    if cvss:
        kind = "CVSS_V4" if cvss.startswith("CVSS:4") else "CVSS_V3"
        fields["severity"] = [{"type": kind, "score": cvss}]
    if alias:
        fields["aliases"] = alias
    if reference:
        fields["references"] = [{"type": "ADVISORY", "url": url} for url in reference]
    if malicious:
        fields["database_specific"] = {**fields.get("database_specific", {}), "malicious": True}
    with _client() as api:
        api.require_token()
        doc = api.json("POST", BASE, json=fields)
        if publish:
            doc = api.json("POST", _url(doc["id"], "publish"))
    _show(doc, as_json, "published" if publish else "drafted")


@advisory_app.command("edit")
def edit(
    advisory_id: str = typer.Argument(...),
    file: Path | None = typer.Option(None, "--file", "-f", help="changes as a JSON object"),
    summary: str | None = typer.Option(None, "--summary"),
    details: str | None = typer.Option(None, "--details"),
    set_: list[str] = typer.Option([], "--set", help="FIELD=JSON (FIELD=null removes it)"),
    as_json: bool = JsonFlag,
) -> None:
    """Change top-level OSV fields of a draft or published advisory."""
    changes = _json_object(file, "changes")
    for item in set_:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--set wants FIELD=JSON, got {item!r}")
        try:
            changes[key] = json.loads(raw)
        except ValueError as err:
            raise UsageError(f"--set {key}: not JSON: {err}") from err
    for key, value in (("summary", summary), ("details", details)):
        if value is not None:
            changes[key] = value
    if not changes:
        raise UsageError("nothing to change: give --file, --set, --summary or --details")
    with _client() as api:
        api.require_token()
        doc = api.json("PATCH", _url(advisory_id), json=changes)
    _show(doc, as_json, "edited")


@advisory_app.command("publish")
def publish(advisory_id: str = typer.Argument(...), as_json: bool = JsonFlag) -> None:
    """Publish a draft."""
    with _client() as api:
        api.require_token()
        doc = api.json("POST", _url(advisory_id, "publish"))
    _show(doc, as_json, "published")


@advisory_app.command("withdraw")
def withdraw(advisory_id: str = typer.Argument(...),
             reason: str = typer.Option(..., "--reason", "-r", help="why it is withdrawn"),
             as_json: bool = JsonFlag) -> None:
    """Withdraw a published advisory (it stays retrievable, never matches again)."""
    with _client() as api:
        api.require_token()
        doc = api.json("POST", _url(advisory_id, "withdraw"), json={"reason": reason})
    _show(doc, as_json, "withdrew")


@advisory_app.command("show")
def show(advisory_id: str = typer.Argument(...), as_json: bool = JsonFlag) -> None:
    """Show one advisory (the OSV record with --json)."""
    with _client() as api:
        doc = api.json("GET", _url(advisory_id))
    if as_json:
        output.emit_json(doc)
        return
    _show(doc, False, "advisory")
    for label in ("severity", "malicious", "aliases", "modified", "published", "withdrawn",
                  "withdrawn_reason"):
        output.out.print(f"  {label:<17} {doc.get(label)}")
    for ref in doc["packages"]:
        output.out.print(f"  {'package':<17} {ref['ecosystem']}/{ref['name']}")


def _records_under(paths: list[Path]) -> tuple[list[tuple[str, Any]], list[dict[str, Any]]]:
    """(source, decoded value) for every record, and problems with unreadable files."""
    records: list[tuple[str, Any]] = []
    unreadable: list[dict[str, Any]] = []
    for path in paths:
        if not path.exists():
            raise UsageError(f"{path} does not exist")
        files = (sorted(p for p in path.rglob("*.json") if p.is_file() and not any(
            part.startswith(".") for part in p.relative_to(path).parts))
                 if path.is_dir() else [path])
        for file in files:
            try:
                data = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError) as err:
                unreadable.append({"source": str(file), "status": "invalid", "id": None,
                                   "reasons": [f"unreadable JSON: {err}"]})
                continue
            if isinstance(data, list):
                records.extend((f"{file}#{i}", item) for i, item in enumerate(data))
            else:
                records.append((str(file), data))
    return records, unreadable


@advisory_app.command("import")
def import_(paths: list[Path] = typer.Argument(..., help="OSV JSON files or directories"),
            as_json: bool = JsonFlag) -> None:
    """Import OSV records (idempotent by id + modified); invalid ones are reported."""
    records, results = _records_under(paths)
    totals = {"created": 0, "updated": 0, "unchanged": 0, "invalid": len(results)}
    with _client() as api:
        api.require_token()
        for start in range(0, len(records), BATCH):
            chunk = records[start:start + BATCH]
            report = api.json("POST", f"{BASE}/import", json=[value for _, value in chunk])
            for key in ("created", "updated", "unchanged", "invalid"):
                totals[key] += report[key]
            for result in report["results"]:
                index = int(result["source"].rsplit("#", 1)[1])
                results.append({**result, "source": chunk[index][0]})
    invalid = [r for r in results if r["status"] == "invalid"]
    if as_json:
        output.emit_json({**totals, "results": results})
    else:
        output.out.print(", ".join(f"{key} {value}" for key, value in totals.items()))
        for result in invalid:
            output.err.print(f"invalid {result['source']}: "
                             + "; ".join(result["reasons"]), highlight=False)
    if invalid:  # exit code 1; the valid records were imported all the same
        raise ClientError(f"{len(invalid)} invalid record(s) were not imported")


@advisory_app.command("export")
def export(output_file: Path | None = typer.Option(None, "-o", "--output",
                                                   help="one JSON array (default: stdout)"),
           directory: Path | None = typer.Option(None, "--dir", help="one <id>.json per record"),
           include_drafts: bool = typer.Option(False, "--include-drafts")) -> None:
    """Export every public advisory as OSV JSON."""
    if output_file and directory:
        raise UsageError("give -o FILE or --dir DIR, not both")
    with _client() as api:
        params = {"include_drafts": "true"} if include_drafts else {}
        text = api.request("GET", f"{BASE}/export", params=params).text
    if directory is not None:
        from advisories.io import export_directory
        from advisories.models import Advisory

        written = export_directory([Advisory.model_validate(item) for item in json.loads(text)],
                                   directory)
        output.err.print(f"wrote {len(written)} records to {directory}")
    elif output_file is not None:
        tmp = output_file.with_name(f".{output_file.name}.part")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(output_file)
        output.err.print(f"wrote {output_file}")
    else:
        typer.echo(text, nl=False)


@advisory_app.command("list")
def list_(package: str | None = typer.Option(None, "--package", "-p"),
          ecosystem: str | None = typer.Option(None, "--ecosystem", "-e"),
          severity: str | None = typer.Option(None, "--severity"),
          state: str | None = typer.Option(None, "--state"),
          withdrawn: bool | None = typer.Option(None, "--withdrawn/--not-withdrawn"),
          limit: int = typer.Option(100, "--limit"),
          as_json: bool = JsonFlag) -> None:
    """List advisories, newest first (drafts only for the security team)."""
    params: dict[str, Any] = {"package": package, "ecosystem": ecosystem, "severity": severity,
                              "state": state, "limit": limit}
    if withdrawn is not None:
        params["withdrawn"] = str(withdrawn).lower()
    with _client() as api:
        docs = api.json("GET", BASE, params={k: v for k, v in params.items() if v is not None})
    if as_json:
        output.emit_json(docs)
        return
    for doc in docs:
        names = ", ".join(f"{p['ecosystem']}/{p['name']}" for p in doc["packages"])
        output.out.print(f"{doc['id']:<24} {doc['state']:<10} {doc['severity'] or '-':<9} "
                         f"{names}  {doc['summary']}")


@advisory_app.command("quarantine")
def quarantine(advisory_id: str = typer.Argument(...),
               reason: str | None = typer.Option(None, "--reason", "-r"),
               undo: bool = typer.Option(False, "--undo", help="release the versions instead"),
               as_json: bool = JsonFlag) -> None:
    """Stop serving the versions a malicious advisory affects (or --undo)."""
    with _client() as api:
        api.require_token()
        if undo:
            report = api.json("POST", _url(advisory_id, "unquarantine"))
        else:
            report = api.json("POST", _url(advisory_id, "quarantine"),
                              json={"reason": reason} if reason else None)
    if as_json:
        output.emit_json(report)
        return
    key = "released" if undo else "quarantined"
    versions = [f"{v['package']}@{v['version']}" for v in report[key]]
    output.out.print(f"{key} {len(versions)}: {', '.join(versions) or '-'}")


__all__ = ["advisory_app"]
