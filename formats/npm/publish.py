"""The body of ``npm publish`` (``PUT /{name}``): parsed, checked against its attachment, and
reduced to what the registry records.

    published = parse_publish(body_bytes, "@acme/widget", max_tarball_bytes=100 << 20)
    published.version, published.tarball, published.digests.integrity, published.manifest

The body (libnpmpublish's shape) is ``{"_id", "name", "description", "dist-tags", "versions":
{VERSION: manifest}, "access", "_attachments": {"NAME-VERSION.tgz": {"content_type", "data":
base64, "length"}}}``; with ``--provenance`` (or ``--provenance-file``) it also carries a Sigstore
bundle as ``NAME-VERSION.sigstore``. Vouch also takes a detached GPG signature of the tarball
as ``NAME-VERSION.tgz.asc`` (ASCII-armored, ``data`` as text or base64) for clients that build
the body themselves.

Checked, each failure a ``FormatError``: exactly one version per PUT, named as the path says;
the attachments are exactly the tarball (and the optional signature ones); ``length`` is the
decoded size; ``dist.integrity`` (sha512) and ``dist.shasum`` (sha1) are recomputed and compared
in constant time; the tarball is a gzip'ed tar whose ``package/package.json`` names the same
package and version and declares the same dependencies; ``dist-tags`` only point at this
version and are not SemVer ranges. The client's ``dist`` and ``_``-prefixed fields are not
kept: the registry writes its own (``manifest`` has neither).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import json
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any, Protocol, cast

from formats.errors import InvalidDistribution, MetadataMismatch
from formats.npm import names
from formats.npm.errors import IntegrityMismatch, InvalidPublish
from formats.npm.integrity import Digests
from versions.errors import InvalidRange
from versions.npm_range import Range

MAX_MANIFEST_BYTES = 1 << 20  # a package.json, and a version's manifest as stored
MAX_UNPACKED_BYTES = 1 << 30  # what reading the tarball may decompress before giving up
MAX_TAG_LENGTH = 128
#: Manifest fields that are the registry's to write, never the client's.
_SERVER_FIELDS = frozenset({"dist", "readme", "readmeFilename"})
_DEPENDENCY_FIELDS = ("dependencies", "optionalDependencies", "peerDependencies")


@dataclass(frozen=True)
class NpmPublish:
    """One version, as an ``npm publish`` body delivered it, checked."""

    name: str
    version: str
    manifest: dict[str, Any]  # the version's package.json fields (no dist, no _ fields)
    tarball: bytes
    digests: Digests
    dist_tags: dict[str, str] = field(default_factory=dict)
    access: str | None = None
    provenance: bytes | None = None  # a Sigstore bundle (JSON)
    gpg_signature: bytes | None = None  # an ASCII-armored detached signature
    package_json: dict[str, Any] = field(default_factory=dict)

    @property
    def attachment(self) -> str:
        return names.attachment_name(self.name, self.version)


def parse_publish(body: bytes | Mapping[str, Any], path_name: str, *,
                  max_tarball_bytes: int) -> NpmPublish:
    """Parse and check a publish body for the package the path names.

    Raises ``InvalidPublish`` (shape), ``InvalidProjectName`` / ``InvalidVersion``,
    ``IntegrityMismatch`` (digests, length), ``InvalidDistribution`` (not a tarball, no
    package.json) or ``MetadataMismatch`` (package.json disagrees), and ``InvalidPublish``
    for a tarball over ``max_tarball_bytes``.
    """
    doc = _load(body)
    name = names.validate(_text(doc, "name"))
    if name != path_name:
        raise InvalidPublish(f"the body publishes {name!r} but the URL names {path_name!r}")
    if "_id" in doc and doc["_id"] != name:
        raise InvalidPublish("_id must equal name")
    versions = doc.get("versions")
    if not isinstance(versions, dict) or len(versions) != 1:
        raise InvalidPublish("a publish carries exactly one version in 'versions'")
    ((version_key, manifest),) = versions.items()
    version = names.canonical_version(version_key)
    if version != version_key:
        raise InvalidPublish(f"version {version_key!r} is not in its canonical form {version!r}")
    if not isinstance(manifest, dict):
        raise InvalidPublish("versions[VERSION] must be an object")
    if manifest.get("name") != name or manifest.get("version") != version:
        raise InvalidPublish("the version's name and version must equal the package's")
    if len(json.dumps(manifest)) > MAX_MANIFEST_BYTES + (1 << 20):
        raise InvalidPublish("the version manifest is too large")
    attachments = doc.get("_attachments")
    if not isinstance(attachments, dict):
        raise InvalidPublish("_attachments is missing: nothing to publish")
    tarball_key = names.attachment_name(name, version)
    allowed = {tarball_key, f"{name}-{version}.sigstore", f"{tarball_key}.asc"}
    if tarball_key not in attachments or set(attachments) - allowed:
        raise InvalidPublish(f"_attachments must hold {tarball_key!r} (and optionally its "
                             "'.sigstore' bundle or '.tgz.asc' signature), nothing else")
    tarball = _attachment(attachments[tarball_key], tarball_key, max_tarball_bytes)
    digests = Digests.of(tarball)
    dist = manifest.get("dist")
    if not isinstance(dist, dict):
        raise IntegrityMismatch("dist with integrity and shasum is missing")
    digests.check(dist.get("integrity"), dist.get("shasum"))
    package_json = read_package_json(tarball)
    check_package_json(package_json, name, version, manifest)
    provenance = _optional(attachments, f"{name}-{version}.sigstore", max_tarball_bytes)
    signature = _optional(attachments, f"{tarball_key}.asc", max_tarball_bytes)
    access = doc.get("access")
    if access is not None and access not in ("public", "restricted"):
        raise InvalidPublish("access must be 'public' or 'restricted'")
    return NpmPublish(
        name=name, version=version, manifest=clean_manifest(manifest), tarball=tarball,
        digests=digests, dist_tags=_dist_tags(doc.get("dist-tags"), version), access=access,
        provenance=provenance, gpg_signature=signature, package_json=package_json)


def clean_manifest(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a version the registry keeps: not ``dist``, not readmes, not the
    client's ``_``-prefixed bookkeeping (``_id``, ``_npmUser``... are the registry's)."""
    return {k: v for k, v in manifest.items()
            if k not in _SERVER_FIELDS and not k.startswith("_")}


def read_package_json(tarball: bytes, *, max_unpacked: int = MAX_UNPACKED_BYTES) -> dict[str, Any]:
    """``package/package.json`` (the top directory may have another name, as npm allows) from
    a gzip'ed tar; raises ``InvalidDistribution``. Reading stops after ``max_unpacked``
    decompressed bytes, so a gzip bomb costs bounded work."""
    try:
        raw = gzip.GzipFile(fileobj=io.BytesIO(tarball))
        capped = cast(IO[bytes], _Capped(raw, max_unpacked))
        with tarfile.open(fileobj=capped, mode="r|") as archive:
            for member in archive:
                parts = member.name.lstrip("./").split("/")
                if len(parts) == 2 and parts[1] == "package.json" and member.isfile():
                    if member.size > MAX_MANIFEST_BYTES:
                        raise InvalidDistribution("package.json is larger than 1 MiB")
                    handle = archive.extractfile(member)
                    assert handle is not None
                    data = json.loads(handle.read())
                    if not isinstance(data, dict):
                        raise InvalidDistribution("package.json is not a JSON object")
                    return data
    except (OSError, EOFError, tarfile.TarError, gzip.BadGzipFile, ValueError) as err:
        raise InvalidDistribution(f"the tarball cannot be read: {err}") from err
    raise InvalidDistribution("the tarball has no package/package.json")


def check_package_json(package_json: Mapping[str, Any], name: str, version: str,
                       manifest: Mapping[str, Any]) -> None:
    """The tarball's package.json publishes what the body says: same name, same version, same
    dependencies (``npm publish`` also lists optional dependencies under ``dependencies``)."""
    if package_json.get("name") != name:
        raise MetadataMismatch(f"package.json inside the tarball names "
                               f"{str(package_json.get('name'))[:64]!r}, not {name!r}")
    try:
        inner = names.canonical_version(str(package_json.get("version")))
    except Exception as err:
        raise MetadataMismatch("package.json inside the tarball has no valid version") from err
    if inner != version:
        raise MetadataMismatch(f"package.json inside the tarball is version {inner}, "
                               f"not {version}")
    optional = _deps(package_json, "optionalDependencies")
    for key in _DEPENDENCY_FIELDS:
        theirs, ours = _deps(manifest, key), _deps(package_json, key)
        if key == "dependencies":
            ours = {**ours, **optional}
            theirs = {**theirs, **optional}
        if theirs != ours:
            raise MetadataMismatch(f"{key} in the body differ from package.json's")


def _deps(doc: Mapping[str, Any], key: str) -> dict[str, str]:
    value = doc.get(key) or {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InvalidPublish(f"{key} must map names to ranges")
    return value


def _load(body: bytes | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(body, Mapping):
        return body
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise InvalidPublish(f"the body is not JSON: {str(err)[:200]}") from err
    if not isinstance(doc, dict):
        raise InvalidPublish("the body must be a JSON object")
    return doc


def _text(doc: Mapping[str, Any], key: str) -> str:
    value = doc.get(key)
    if not isinstance(value, str):
        raise InvalidPublish(f"{key!r} must be a string")
    return value


def _attachment(entry: object, key: str, limit: int, *, text_ok: bool = False) -> bytes:
    if not isinstance(entry, dict) or not isinstance(entry.get("data"), str):
        raise InvalidPublish(f"_attachments[{key!r}] needs its data")
    data = entry["data"]
    if len(data) > (limit // 3 + 1) * 4:
        raise InvalidPublish(f"_attachments[{key!r}] is larger than {limit} bytes")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as err:
        if not text_ok:
            raise InvalidPublish(f"_attachments[{key!r}].data is not base64") from err
        raw = data.encode()
    length = entry.get("length")
    if length is not None and (isinstance(length, bool) or length != len(raw)):
        raise IntegrityMismatch(f"_attachments[{key!r}].length is {length!r} but the data "
                                f"is {len(raw)} bytes")
    return raw


def _optional(attachments: Mapping[str, Any], key: str, limit: int) -> bytes | None:
    """A signature attachment: npm sends the bundle JSON as the raw string, others base64."""
    if key not in attachments:
        return None
    return _attachment(attachments[key], key, limit, text_ok=True)


def _dist_tags(value: object, version: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidPublish("dist-tags must be an object")
    tags: dict[str, str] = {}
    for tag, target in value.items():
        check_tag(tag)
        if target != version:
            raise InvalidPublish(f"dist-tag {tag!r} must point at the published version")
        tags[tag] = version
    return tags


def check_tag(tag: object) -> str:
    """A dist-tag name: short, URL-safe, and not something npm would read as a range."""
    if not isinstance(tag, str) or not tag or len(tag) > MAX_TAG_LENGTH:
        raise InvalidPublish("a dist-tag is 1 to 128 characters")
    if tag != tag.strip() or not all(c.isalnum() or c in "._-" for c in tag) or not tag.isascii():
        raise InvalidPublish(f"dist-tag {tag[:64]!r} may use only letters, digits, '.', '_', '-'")
    try:
        Range.parse(tag)
    except InvalidRange:
        return tag
    raise InvalidPublish(f"dist-tag {tag!r} is a valid SemVer range; tags must not be")


class _Reader(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _Capped:
    """A reader that fails once more than ``limit`` bytes came through."""

    def __init__(self, inner: _Reader, limit: int) -> None:
        self.inner, self.left = inner, limit

    def read(self, size: int = -1, /) -> bytes:
        data = self.inner.read(size if size >= 0 else self.left + 1)
        self.left -= len(data)
        if self.left < 0:
            raise InvalidDistribution("the tarball unpacks to more than the registry reads")
        return data
