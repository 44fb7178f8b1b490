"""Core metadata inside a distribution: read it, parse it, check it against the filename and
the upload form.

    raw = read_core_metadata(path, dist)          # wheel METADATA / sdist PKG-INFO bytes
    meta = parse_core_metadata(raw)               # CoreMetadata(name, version, ...)
    check_consistency(dist, meta, form_name="foo", form_version="1.0")

Reading is bounded: the archive must be a well-formed zip (wheel) or gzip tar (sdist); the
metadata member must be a regular file of at most ``MAX_METADATA_BYTES``; a wheel must hold
exactly one ``{name}-{version}.dist-info/METADATA`` at its top level matching its filename,
an sdist its ``{name}-{version}/PKG-INFO``. Raises ``InvalidDistribution`` (unreadable, missing,
oversized, unparseable) and ``MetadataMismatch`` (name/version disagree).
"""

from __future__ import annotations

import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from packaging.metadata import parse_email

from formats.errors import (
    InvalidDistribution,
    InvalidProjectName,
    InvalidVersion,
    MetadataMismatch,
)
from formats.pypi.filenames import WHEEL, DistFilename
from formats.pypi.names import canonical_version, normalize, version_sort_key

MAX_METADATA_BYTES = 4 * 1024 * 1024
MAX_SDIST_MEMBERS_SCANNED = 100_000


@dataclass(frozen=True)
class CoreMetadata:
    name: str  # as written in the metadata
    version: str  # as written
    metadata_version: str = ""
    summary: str = ""
    description: str = ""
    license: str | None = None
    keywords: tuple[str, ...] = ()
    requires_python: str | None = None
    requires_dist: tuple[str, ...] = ()
    project_urls: dict[str, str] = field(default_factory=dict)
    home_page: str | None = None


def read_core_metadata(path: Path, dist: DistFilename) -> bytes:
    """The METADATA (wheel) or PKG-INFO (sdist) bytes of the distribution at ``path``."""
    if dist.kind == WHEEL:
        return _wheel_metadata(path, dist)
    return _sdist_pkg_info(path, dist)


def _wheel_metadata(path: Path, dist: DistFilename) -> bytes:
    try:
        with zipfile.ZipFile(path) as archive:
            candidates = [info for info in archive.infolist()
                          if _top_dist_info(info.filename) and info.filename.endswith("/METADATA")
                          and info.filename.count("/") == 1]
            if len(candidates) != 1:
                raise InvalidDistribution(
                    f"{dist.filename} must contain exactly one .dist-info/METADATA at its top "
                    f"level (found {len(candidates)})")
            info = candidates[0]
            directory = info.filename.split("/", 1)[0][: -len(".dist-info")]
            dir_name, _, dir_version = directory.rpartition("-")
            if not dir_name or _safe_normalize(dir_name) != dist.name or \
                    not _same_version(_safe_version(dir_version), dist.version):
                raise MetadataMismatch(f"the .dist-info directory {directory}.dist-info does "
                                       f"not match the filename {dist.filename}")
            if info.file_size > MAX_METADATA_BYTES:
                raise InvalidDistribution(f"METADATA is larger than {MAX_METADATA_BYTES} bytes")
            with archive.open(info) as member:
                data = member.read(MAX_METADATA_BYTES + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
            NotImplementedError, RuntimeError) as err:
        raise InvalidDistribution(f"{dist.filename} is not a valid wheel (zip): {err}") from err
    if len(data) > MAX_METADATA_BYTES:
        raise InvalidDistribution(f"METADATA is larger than {MAX_METADATA_BYTES} bytes")
    return data


def _top_dist_info(member: str) -> bool:
    head = member.split("/", 1)[0]
    return head.endswith(".dist-info")


def _sdist_pkg_info(path: Path, dist: DistFilename) -> bytes:
    try:
        with tarfile.open(path, mode="r:gz") as archive:
            for count, member in enumerate(archive):
                if count > MAX_SDIST_MEMBERS_SCANNED:
                    break
                parts = member.name.split("/")
                if len(parts) != 2 or parts[1] != "PKG-INFO":
                    continue
                top_name, _, top_version = parts[0].rpartition("-")
                if _safe_normalize(top_name) != dist.name or \
                        not _same_version(_safe_version(top_version), dist.version):
                    continue
                if not member.isfile():
                    raise InvalidDistribution("PKG-INFO is not a regular file")
                if member.size > MAX_METADATA_BYTES:
                    raise InvalidDistribution(
                        f"PKG-INFO is larger than {MAX_METADATA_BYTES} bytes")
                handle = archive.extractfile(member)
                if handle is None:
                    raise InvalidDistribution("PKG-INFO cannot be read")
                with handle:
                    return handle.read(MAX_METADATA_BYTES)
    except (tarfile.TarError, OSError, EOFError, ValueError) as err:
        raise InvalidDistribution(
            f"{dist.filename} is not a valid sdist (gzip tar): {err}") from err
    raise InvalidDistribution(f"{dist.filename} has no {{name}}-{{version}}/PKG-INFO matching "
                              "its filename")


def _safe_normalize(name: str) -> str | None:
    try:
        return normalize(name)
    except InvalidProjectName:
        return None


def _safe_version(version: str) -> str | None:
    try:
        return canonical_version(version)
    except InvalidVersion:
        return None


def _same_version(a: str | None, b: str | None) -> bool:
    """PEP 440 equality (``1.0 == 1.0.0``)."""
    return a is not None and b is not None and version_sort_key(a) == version_sort_key(b)


def parse_core_metadata(raw: bytes) -> CoreMetadata:
    """Parse RFC 822 core metadata; raises ``InvalidDistribution`` when it is not UTF-8 or
    lacks Name or Version."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InvalidDistribution("the core metadata is not UTF-8") from err
    parsed, _unparsed = parse_email(text)
    name = parsed.get("name")
    version = parsed.get("version")
    if not name or not version:
        raise InvalidDistribution("the core metadata has no Name or no Version")
    urls: dict[str, str] = dict(parsed.get("project_urls") or {})
    keywords = tuple(k.strip() for k in parsed.get("keywords") or [] if k.strip())
    return CoreMetadata(
        name=name, version=version, metadata_version=parsed.get("metadata_version") or "",
        summary=parsed.get("summary") or "", description=parsed.get("description") or "",
        license=parsed.get("license_expression") or parsed.get("license"),
        keywords=keywords, requires_python=parsed.get("requires_python"),
        requires_dist=tuple(parsed.get("requires_dist") or ()), project_urls=urls,
        home_page=parsed.get("home_page"),
    )


def check_consistency(dist: DistFilename, meta: CoreMetadata, *, form_name: str | None,
                      form_version: str | None, form_filetype: str | None = None) -> None:
    """The filename, the metadata in the file and the upload form name one project and
    version (compared normalised) and one kind; raises ``MetadataMismatch`` saying which."""
    try:
        meta_name, meta_version = normalize(meta.name), canonical_version(meta.version)
    except (InvalidProjectName, InvalidVersion) as err:
        raise InvalidDistribution(f"the core metadata is invalid: {err}") from err
    if meta_name != dist.name or not _same_version(meta_version, dist.version):
        raise MetadataMismatch(
            f"the filename {dist.filename} does not match the metadata in the file "
            f"({meta.name} {meta.version})")
    if form_name is not None and _safe_normalize(form_name) != meta_name:
        raise MetadataMismatch(f"the form's name {form_name[:64]!r} does not match the "
                               f"metadata in the file ({meta.name})")
    if form_version is not None and not _same_version(_safe_version(form_version),
                                                      meta_version):
        raise MetadataMismatch(f"the form's version {form_version[:64]!r} does not match "
                               f"the metadata in the file ({meta.version})")
    if form_filetype is not None and form_filetype != dist.kind:
        raise MetadataMismatch(f"the form's filetype {form_filetype[:32]!r} does not match "
                               f"the file {dist.filename} ({dist.kind})")
