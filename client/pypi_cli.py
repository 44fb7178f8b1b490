"""`vouch info|unpublish|deprecate --format pypi`: the same commands for Python projects.

    vouch info --format pypi foo-bar           # releases and files, from /simple/foo-bar/
    vouch info --format pypi foo-bar@1.0       # one release's files
    vouch unpublish --format pypi foo-bar@1.0  # within the grace period
    vouch deprecate --format pypi foo-bar@1.0 -m "broken"   # a yank (PEP 592); --undo

Python names are PEP 503-normalised by the registry (``Foo.Bar`` is ``foo-bar``) and releases
are found by PEP 440 equality (``1.0`` is ``1.0.0``). The default format (``native``) keeps
the native API; a name is never guessed across formats, so a native ``foo`` and a Python
``foo`` are never confused.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from client import output
from client.api import RegistryClient
from client.errors import UsageError

FORMATS = ("native", "pypi")
PEP691 = "application/vnd.pypi.simple.v1+json"


def check_format(value: str) -> str:
    if value not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, not {value!r}")
    return value


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def project(api: RegistryClient, name: str, version: str | None) -> dict[str, Any]:
    """The project's PEP 691 page, reduced to ``{name, format, versions, files}`` (files of
    ``version`` only when given; each with its release, sha256, size, yanked, provenance)."""
    normalized = _normalize(name)
    page: dict[str, Any] = api.json("GET", f"/simple/{quote(normalized)}/",
                                    headers={"Accept": PEP691})
    files = []
    for item in page.get("files", []):
        release = item["url"].split("/")[-2] if item["url"].count("/") >= 2 else None
        files.append({"filename": item["filename"], "version": release,
                      "sha256": item["hashes"].get("sha256"), "size": item.get("size"),
                      "yanked": item.get("yanked") or False,
                      "provenance": item.get("provenance")})
    versions = list(page.get("versions", []))
    if version is not None:
        files = [f for f in files if f["version"] == version]
        if not files:
            raise UsageError(f"{normalized} has no release {version} with files to show "
                             f"(releases: {', '.join(versions) or 'none'})")
    status = (page.get("project-status") or {}).get("status", "active")
    return {"name": page.get("name", normalized), "format": "pypi", "status": status,
            "versions": versions, "files": files}


def print_project(doc: dict[str, Any]) -> None:
    output.out.print(f"{doc['name']} (Python)  status {doc['status']}  "
                     f"releases {', '.join(doc['versions']) or '-'}")
    for f in doc["files"]:
        marks = []
        if f["yanked"]:
            marks.append(f"yanked: {f['yanked']}" if isinstance(f["yanked"], str) else "yanked")
        if f["provenance"]:
            marks.append("attested")
        output.out.print(f"  {f['version'] or '?':<12} {f['filename']}  sha256 {f['sha256']}"
                         + (f"  [{'; '.join(marks)}]" if marks else ""))


def unpublish(api: RegistryClient, name: str, version: str) -> None:
    api.require_token()
    api.request("DELETE", f"/api/v1/pypi/{quote(_normalize(name))}/{quote(version)}")


def deprecate(api: RegistryClient, name: str, version: str, message: str | None) -> None:
    api.require_token()
    url = f"/api/v1/pypi/{quote(_normalize(name))}/{quote(version)}/deprecation"
    if message is None:
        api.request("DELETE", url)
    else:
        api.request("PUT", url, json={"message": message})
