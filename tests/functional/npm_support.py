"""npm publish bodies built the way the npm CLI builds them, and the real npm CLI.

    data = tarball({"name": "left-pad", "version": "1.0.0"})      # package/package.json inside
    body = publish_body("left-pad", "1.0.0", data, gpg_signature=asc)  # libnpmpublish's shape
    client.put("/npm/left-pad", json=body)

    cli = NpmCli(npm_js, home)            # the npm 11 installed by the ``npm11`` fixture
    cli.run(["publish", ...], registry=f"{server.url}/npm/", token=token)

The body's shape is the one captured from npm 11.19.1 (tests/data/npm/publish-body.json).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def tarball(package_json: dict[str, Any], files: dict[str, bytes] | None = None) -> bytes:
    """A gzip'ed tar with ``package/package.json`` (and ``files``), as ``npm pack`` makes."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        members = {"package/package.json": json.dumps(package_json).encode()}
        members.update({f"package/{k}": v for k, v in (files or {}).items()})
        for path, content in members.items():
            info = tarfile.TarInfo(path)
            info.size = len(content)
            info.mtime = 499162500
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def package_json(name: str, version: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "version": version, "description": f"{name} for tests", **extra}


def publish_body(name: str, version: str, data: bytes, *, manifest: dict[str, Any] | None = None,
                 gpg_signature: bytes | None = None, provenance: bytes | None = None,
                 tag: str = "latest") -> dict[str, Any]:
    """``npm publish``'s JSON body for ``data``, optionally with a signature attachment."""
    manifest = dict(manifest or package_json(name, version))
    manifest.update(
        _id=f"{name}@{version}", _nodeVersion="20.20.2", _npmVersion="11.19.1",
        dist={"integrity": "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode(),
              "shasum": hashlib.sha1(data, usedforsecurity=False).hexdigest(),
              "tarball": f"http://ignored/{name}/-/{name}-{version}.tgz"})
    attachments: dict[str, Any] = {f"{name}-{version}.tgz": {
        "content_type": "application/octet-stream", "data": base64.b64encode(data).decode(),
        "length": len(data)}}
    if gpg_signature is not None:
        attachments[f"{name}-{version}.tgz.asc"] = {
            "content_type": "application/pgp-signature", "data": gpg_signature.decode(),
            "length": len(gpg_signature)}
    if provenance is not None:
        attachments[f"{name}-{version}.sigstore"] = {
            "content_type": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "data": provenance.decode(), "length": len(provenance)}
    return {"_id": name, "name": name, "description": manifest.get("description", ""),
            "dist-tags": {tag: version}, "versions": {version: manifest}, "access": None,
            "_attachments": attachments}


def path(name: str) -> str:
    """The packument path as npm requests it (``/npm/@scope%2fname``)."""
    return "/npm/" + name.replace("/", "%2f")


@dataclass
class NpmCli:
    """The real npm CLI (``node npm-cli.js``) with its own home, cache and config."""

    npm_js: Path
    home: Path

    def run(self, args: list[str], *, registry: str, token: str | None = None,
            cwd: Path | None = None, timeout: int = 180,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        self.home.mkdir(parents=True, exist_ok=True)
        npmrc = self.home / ".npmrc"
        lines = [f"registry={registry}"]
        if token:
            host = registry.split("://", 1)[1]
            lines.append(f"//{host}:_authToken={token}")
        npmrc.write_text("\n".join(lines) + "\n")
        extra = env or {}
        env = {k: v for k, v in os.environ.items()
               if not k.lower().startswith("npm_") and k not in ("GITHUB_ACTIONS", "CI")}
        env.update(HOME=str(self.home), npm_config_userconfig=str(npmrc),
                   npm_config_cache=str(self.home / "cache"), npm_config_update_notifier="false",
                   npm_config_fund="false", npm_config_loglevel="warn", NO_COLOR="1",
                   npm_config_audit="false", npm_config_prefer_online="true")
        env.update(extra)
        return subprocess.run(["node", str(self.npm_js), *args], capture_output=True, text=True,
                              env=env, cwd=cwd or self.home, timeout=timeout, check=False)
