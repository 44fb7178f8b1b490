"""Build small, real Python distributions by hand (no build backend): wheels pip installs and
sdists twine uploads.

    wheel = build_wheel(tmp_path, "foo-bar", "1.0", requires_python=">=3.8")
    sdist = build_sdist(tmp_path, "foo-bar", "1.0")
    mismatched = build_wheel(tmp_path, "foo-bar", "1.0", metadata_name="other")

Each returns the file's path; its name follows PEP 427 / PEP 625 (``foo_bar-1.0-py3-none-any.whl``,
``foo_bar-1.0.tar.gz``). The wheel's module ``foo_bar`` has ``VERSION = "1.0"``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import tarfile
import zipfile
from pathlib import Path


def escaped(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def core_metadata(name: str, version: str, *, requires_python: str | None = None,
                  summary: str = "a test package", requires_dist: tuple[str, ...] = ()) -> str:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}",
             f"Summary: {summary}", "License: MIT"]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {req}" for req in requires_dist]
    return "\n".join(lines) + "\n\nLong description.\n"


def build_wheel(directory: Path, name: str, version: str, *, requires_python: str | None = None,
                metadata_name: str | None = None, metadata_version: str | None = None,
                padding: int = 0, marker: str = "") -> Path:
    """A pure-Python wheel. ``metadata_name``/``metadata_version`` write other values into
    METADATA (for mismatch tests); ``padding`` adds that many random-ish bytes (size tests);
    ``marker`` changes the module's bytes (same filename, different file)."""
    module = escaped(name)
    dist_info = f"{module}-{version}.dist-info"
    files = {
        f"{module}/__init__.py": f'VERSION = "{version}"\n# {marker}\n'.encode(),
        f"{dist_info}/METADATA": core_metadata(metadata_name or name,
                                               metadata_version or version,
                                               requires_python=requires_python).encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: vouch-tests\n"
                              b"Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    if padding:
        files[f"{module}/padding.bin"] = hashlib.shake_256(marker.encode()).digest(padding)
    record = "".join(f"{path},sha256={_b64(hashlib.sha256(data).digest())},{len(data)}\n"
                     for path, data in files.items()) + f"{dist_info}/RECORD,,\n"
    files[f"{dist_info}/RECORD"] = record.encode()
    path = directory / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for member, data in files.items():
            info = zipfile.ZipInfo(member, date_time=(2026, 1, 1, 0, 0, 0))
            archive.writestr(info, data)
    return path


def build_sdist(directory: Path, name: str, version: str, *,
                requires_python: str | None = None, filename_name: str | None = None) -> Path:
    module = escaped(filename_name or name)
    top = f"{module}-{version}"
    files = {
        f"{top}/PKG-INFO": core_metadata(name, version, requires_python=requires_python).encode(),
        f"{top}/{escaped(name)}/__init__.py": f'VERSION = "{version}"\n'.encode(),
    }
    path = directory / f"{top}.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for member, data in files.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            info.mtime = 1767225600
            archive.addfile(info, io.BytesIO(data))
    return path


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
