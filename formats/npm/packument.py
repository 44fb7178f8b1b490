"""Packuments: the documents ``GET /{name}`` answers, full and abbreviated ("corgi").

    doc = full_packument(name, versions, dist_tags, created=..., modified=..., rev="3-...")
    small = abbreviated_packument(name, versions, dist_tags, modified=...)
    wants_abbreviated(request.headers.get("accept", ""))   # npm's install requests do

A ``VersionEntry`` is one live version: its manifest as the registry stored it (package.json
fields, ``_id``, ``_npmUser`` and ``dist`` without ``tarball``), the tarball's absolute URL
(inserted here: the host is the request's), when it was published, and its deprecation
message. Unpublished and quarantined versions are not entries: they are absent.

The full document has ``_id``, ``_rev``, ``name``, ``description``, ``dist-tags``,
``versions``, ``time`` (``created``, ``modified`` and one per version), ``maintainers``; the
abbreviated one (``application/vnd.npm.install-v1+json``) has ``name``, ``modified``,
``dist-tags`` and per version only what installing needs (npm/registry
package-metadata.md). Times are ISO 8601 UTC with milliseconds, as npm writes them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

ABBREVIATED_MEDIA_TYPE = "application/vnd.npm.install-v1+json"
#: Per-version fields the abbreviated document keeps.
ABBREVIATED_FIELDS = (
    "name", "version", "dependencies", "optionalDependencies", "devDependencies",
    "bundleDependencies", "bundledDependencies", "peerDependencies", "peerDependenciesMeta",
    "bin", "directories", "dist", "engines", "cpu", "os", "libc", "_hasShrinkwrap",
    "deprecated", "hasInstallScript", "funding", "license",
)
_INSTALL_SCRIPTS = ("preinstall", "install", "postinstall")


@dataclass(frozen=True)
class VersionEntry:
    manifest: Mapping[str, Any]
    tarball_url: str
    published_at: datetime
    deprecated: str | None = None

    @property
    def version(self) -> str:
        return str(self.manifest["version"])

    def document(self) -> dict[str, Any]:
        """The version object as served: the stored manifest, the tarball URL in ``dist``,
        ``deprecated`` when set, ``hasInstallScript`` when an install script exists."""
        doc = dict(self.manifest)
        doc["dist"] = {**dict(self.manifest.get("dist") or {}), "tarball": self.tarball_url}
        scripts = doc.get("scripts")
        if isinstance(scripts, dict) and any(k in scripts for k in _INSTALL_SCRIPTS):
            doc["hasInstallScript"] = True
        if self.deprecated:
            doc["deprecated"] = self.deprecated
        else:
            doc.pop("deprecated", None)
        return doc


def npm_time(moment: datetime) -> str:
    """``2024-01-02T03:04:05.678Z``."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def full_packument(name: str, versions: Sequence[VersionEntry], dist_tags: Mapping[str, str],
                   *, created: datetime, modified: datetime, rev: str,
                   maintainers: Sequence[str] = ()) -> dict[str, Any]:
    """The full document (``Accept: application/json`` or none; ``?write=true``)."""
    docs = {entry.version: entry.document() for entry in versions}
    latest = dist_tags.get("latest")
    head = docs.get(latest) if latest else None
    time = {"created": npm_time(created), "modified": npm_time(modified)}
    time.update({entry.version: npm_time(entry.published_at) for entry in versions})
    doc: dict[str, Any] = {
        "_id": name,
        "_rev": rev,
        "name": name,
        "dist-tags": dict(dist_tags),
        "versions": docs,
        "time": time,
        "maintainers": [{"name": m} for m in maintainers],
    }
    for key in ("description", "license", "keywords", "repository", "homepage", "bugs"):
        if head is not None and key in head:
            doc[key] = head[key]
    return doc


def abbreviated_packument(name: str, versions: Sequence[VersionEntry],
                          dist_tags: Mapping[str, str], *, modified: datetime) -> dict[str, Any]:
    """The install document (``Accept: application/vnd.npm.install-v1+json``)."""
    docs = {}
    for entry in versions:
        full = entry.document()
        docs[entry.version] = {k: full[k] for k in ABBREVIATED_FIELDS if k in full}
    return {"name": name, "modified": npm_time(modified), "dist-tags": dict(dist_tags),
            "versions": docs}


def wants_abbreviated(accept: str) -> bool:
    """Whether an Accept header prefers the abbreviated document: it names
    ``application/vnd.npm.install-v1+json`` with a q-value at least that of any JSON form."""
    best_corgi, best_other = -1.0, -1.0
    for part in accept.split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.lower()
        if media == ABBREVIATED_MEDIA_TYPE:
            best_corgi = max(best_corgi, q)
        elif media in ("application/json", "*/*", "application/*"):
            best_other = max(best_other, q)
    return best_corgi > 0 and best_corgi >= best_other


def latest_version(dist_tags: Mapping[str, str], versions: Sequence[VersionEntry]) -> str | None:
    """``latest`` if it still names a live version, otherwise ``None``."""
    latest = dist_tags.get("latest")
    return latest if latest and any(e.version == latest for e in versions) else None
