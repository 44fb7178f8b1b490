"""`vouch org create|add-member|remove-member|list`: organisations own ``@scope`` packages.

    vouch org create acme                     # you become its owner; packages @acme/*
    vouch org add-member acme bob --role owner
    vouch org remove-member acme bob
    vouch org list [--json]                   # yours (administrators: all), with your role

Exit codes (``client.errors``): 0 ok, 1 refused by the registry, 2 usage, 3 unreachable.
"""

from __future__ import annotations

from urllib.parse import quote

import typer

from client import output
from client.api import RegistryClient
from client.config import load_config
from client.errors import UsageError

org_app = typer.Typer(help="Organisations: owners of @scope packages.", no_args_is_help=True)
JsonFlag = typer.Option(False, "--json", help="machine-readable output on stdout")


def _org(name: str) -> str:
    return name[1:] if name.startswith("@") else name


@org_app.command("create")
def org_create(name: str = typer.Argument(..., help="NAME (the scope is @NAME)"),
               as_json: bool = JsonFlag) -> None:
    """Create an organisation; you become its first owner."""
    with RegistryClient(load_config()) as api:
        api.require_token()
        doc = api.json("POST", "/api/v1/orgs", json={"name": _org(name)})
    if as_json:
        output.emit_json(doc)
    else:
        output.out.print(f"created organisation {doc['name']} (scope {doc['scope']})")


@org_app.command("add-member")
def org_add_member(org: str, user: str,
                   role: str = typer.Option("member", "--role", help="owner or member"),
                   as_json: bool = JsonFlag) -> None:
    """Add USER to ORG (owners manage members, publishers and policies of the scope)."""
    if role not in ("owner", "member"):
        raise UsageError(f"--role is owner or member, not {role!r}")
    with RegistryClient(load_config()) as api:
        api.require_token()
        doc = api.json("POST", f"/api/v1/orgs/{quote(_org(org), safe='')}/members",
                       json={"user": user, "role": role})
    if as_json:
        output.emit_json(doc)
    else:
        output.out.print(f"{doc['user']} is now {doc['role']} of {doc['org']}")


@org_app.command("list")
def org_list(as_json: bool = JsonFlag) -> None:
    """Your organisations (administrators see all), with your role and member count."""
    with RegistryClient(load_config()) as api:
        api.require_token()
        rows = api.json("GET", "/api/v1/orgs")
    if as_json:
        output.emit_json(rows)
    elif not rows:
        output.out.print("you belong to no organisation (create one: vouch org create NAME)",
                         markup=False)
    else:
        for row in rows:
            output.out.print(f"{row['scope']}  {row['role'] or '(admin)'}  "
                             f"{row['members']} member{'s' if row['members'] != 1 else ''}",
                             markup=False)


@org_app.command("remove-member")
def org_remove_member(org: str, user: str, as_json: bool = JsonFlag) -> None:
    """Remove USER from ORG."""
    with RegistryClient(load_config()) as api:
        api.require_token()
        api.request("DELETE", f"/api/v1/orgs/{quote(_org(org), safe='')}/members/"
                              f"{quote(user, safe='')}")
    if as_json:
        output.emit_json({"org": _org(org), "user": user, "removed": True})
    else:
        output.out.print(f"removed {user} from {_org(org)}")


@org_app.command("reserve")
def org_reserve(org: str, name: str = typer.Argument(..., help="NAME or @SCOPE"),
                as_json: bool = JsonFlag) -> None:
    """Reserve NAME (or every name of @SCOPE) for ORG: it never resolves from an upstream
    (the proxy's dependency-confusion guard), even before anything is published."""
    with RegistryClient(load_config()) as api:
        api.require_token()
        doc = api.json("POST", f"/api/v1/orgs/{quote(_org(org), safe='')}/reservations",
                       json={"name": name})
    if as_json:
        output.emit_json(doc)
    else:
        output.out.print(f"reserved {doc['name']} for {doc['org']}", markup=False)
