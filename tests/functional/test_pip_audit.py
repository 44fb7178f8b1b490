"""The real pip-audit (from PyPI) audits requirements against Vouch's OSV endpoint.

pip-audit runs with ``--no-deps --disable-pip`` on pinned requirements, so it resolves nothing
and installs nothing: its only request is ``POST /v1/query`` to ``--osv-url``. Every other
host is routed to a dead proxy, so a stray request to the internet would fail the run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Actors
from tests.functional.test_advisories_fixtures import FASTAPI_GHSA, import_folders, security_client

PIP_AUDIT = Path(sys.executable).with_name("pip-audit")


@pytest.fixture
def audit(actors: Actors, tmp_path: Path) -> Any:
    import_folders(security_client(actors), "ghsa-pypi", "pypi")
    env = dict(os.environ)
    dead = "http://127.0.0.1:9"  # nothing listens: any non-loopback request fails
    env.update(HTTP_PROXY=dead, HTTPS_PROXY=dead, http_proxy=dead, https_proxy=dead,
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost",
               HOME=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "xdg"))

    def run(*requirements: str) -> tuple[int, dict[str, Any], str]:
        req = tmp_path / "requirements.txt"
        req.write_text("\n".join(requirements) + "\n")
        report = tmp_path / "report.json"
        done = subprocess.run(
            [str(PIP_AUDIT), "--no-deps", "--disable-pip", "-r", str(req),
             "--vulnerability-service", "osv", "--osv-url", f"{actors.server.url}/v1/query",
             "--cache-dir", str(tmp_path / "cache"), "--progress-spinner", "off",
             "--format", "json", "--output", str(report)],
            env=env, capture_output=True, text=True, timeout=120)
        body = json.loads(report.read_text()) if report.exists() else {}
        return done.returncode, body, done.stderr

    return run


def test_pip_audit_reports_an_imported_advisory(audit: Any) -> None:
    code, report, stderr = audit("fastapi==0.65.1")
    assert code == 1, stderr
    (dependency,) = report["dependencies"]
    assert (dependency["name"], dependency["version"]) == ("fastapi", "0.65.1")
    # pip-audit names a finding by its CVE alias when there is one.
    (vuln,) = dependency["vulns"]
    assert {vuln["id"], *vuln["aliases"]} == {FASTAPI_GHSA, "CVE-2021-32677"}
    assert vuln["fix_versions"] == ["0.65.2"]
    assert vuln["description"] == "Cross-Site Request Forgery (CSRF) in FastAPI"


def test_pip_audit_passes_a_clean_requirement(audit: Any) -> None:
    code, report, stderr = audit("fastapi==0.65.2")
    assert code == 0, stderr
    assert report["dependencies"] == [{"name": "fastapi", "version": "0.65.2", "vulns": []}]


def test_pip_audit_no_longer_reports_a_withdrawn_advisory(actors: Actors, audit: Any) -> None:
    security_client(actors, "sec2").post(f"/api/v1/advisories/{FASTAPI_GHSA}/withdraw",
                                         json={"reason": "test"})
    code, report, stderr = audit("fastapi==0.65.1")
    assert code == 0, stderr
    assert report["dependencies"][0]["vulns"] == []
