"""npm package names, versions and tarball file names.

    >>> validate("@Acme/widget")
    Traceback (most recent call last):
    ...
    formats.errors.InvalidProjectName: '@Acme/widget': npm package names are lowercase
    >>> split("@acme/widget")
    ('acme', 'widget')
    >>> tarball_filename("@acme/widget", "1.0.0")     # what the registry serves it as
    'widget-1.0.0.tgz'
    >>> attachment_name("@acme/widget", "1.0.0")      # the key npm publish uses in _attachments
    '@acme/widget-1.0.0.tgz'
    >>> escape("@acme/widget")                        # the packument path segment
    '@acme%2fwidget'
    >>> unescape("@acme%2Fwidget")
    '@acme/widget'

Names follow ``validate-npm-package-name``'s rules for NEW packages (the only kind a registry
accepts): 1 to 214 characters, lowercase, no leading ``.`` or ``_``, no surrounding spaces, no
``~'!()*`` in the name part, URL-safe (``encodeURIComponent`` leaves it unchanged, apart from the
one ``/`` of ``@scope/name``), not ``node_modules`` / ``favicon.ico``, not a Node.js core
module name. Versions are strict SemVer 2.0.0 (``versions.semver``), as ``npm publish`` sends
them. Raises ``InvalidProjectName`` / ``InvalidVersion``.
"""

from __future__ import annotations

import re

from formats.errors import InvalidFilename, InvalidProjectName, InvalidVersion
from versions.errors import InvalidVersion as _LibraryInvalidVersion
from versions.semver import Version

MAX_NAME_LENGTH = 214
_SCOPED = re.compile(r"@([^/]+)/([^/]+)")
# encodeURIComponent leaves A-Z a-z 0-9 - _ . ! ~ * ' ( ) alone; names are lowercase and the
# name part may not use ~'!()*, so what is left for a part is this.
_URL_SAFE = re.compile(r"[a-z0-9._~'!()*-]+")
_SPECIAL = re.compile(r"[~'!()*]")
_BLOCKED = {"node_modules", "favicon.ico"}
# Node.js 20's require("module").builtinModules (without "_"-prefixed and "x/y" entries).
CORE_MODULES = frozenset({
    "assert", "async_hooks", "buffer", "child_process", "cluster", "console", "constants",
    "crypto", "dgram", "diagnostics_channel", "dns", "domain", "events", "fs", "http", "http2",
    "https", "inspector", "module", "net", "os", "path", "perf_hooks", "process", "punycode",
    "querystring", "readline", "repl", "stream", "string_decoder", "sys", "timers", "tls",
    "trace_events", "tty", "url", "util", "v8", "vm", "wasi", "worker_threads", "zlib",
})


def _refuse(name: str, reason: str) -> InvalidProjectName:
    return InvalidProjectName(f"{name[:64]!r}: {reason}")


def validate(name: str) -> str:
    """``name`` unchanged if a new npm package may have it; raises ``InvalidProjectName``."""
    if not isinstance(name, str) or not name:
        raise InvalidProjectName("a package name must be a non-empty string")
    if len(name) > MAX_NAME_LENGTH:
        raise _refuse(name, f"npm package names are at most {MAX_NAME_LENGTH} characters")
    if name != name.strip():
        raise _refuse(name, "a package name cannot have leading or trailing spaces")
    if name[0] in "._":
        raise _refuse(name, "a package name cannot start with a period or an underscore")
    if name.lower() != name:
        raise _refuse(name, "npm package names are lowercase")
    if name in _BLOCKED:
        raise _refuse(name, f"{name} is not a valid package name")
    if name in CORE_MODULES:
        raise _refuse(name, f"{name} is a Node.js core module name")
    scoped = _SCOPED.fullmatch(name)
    parts = scoped.groups() if scoped else (name,)
    if _SPECIAL.search(parts[-1]):
        raise _refuse(name, "a package name cannot contain any of ~'!()*")
    for part in parts:
        if not _URL_SAFE.fullmatch(part):
            raise _refuse(name, "a package name can only contain URL-friendly characters")
    if scoped and parts[1][0] in "._":
        raise _refuse(name, "a package name cannot start with a period or an underscore")
    return name


def split(name: str) -> tuple[str | None, str]:
    """``(scope, base)`` of a valid name (``scope`` without the ``@``, or ``None``)."""
    scoped = _SCOPED.fullmatch(validate(name))
    return (scoped[1], scoped[2]) if scoped else (None, name)


def escape(name: str) -> str:
    """The name as one path segment: ``@scope%2fname`` (npm's own spelling)."""
    return name.replace("/", "%2f")


def unescape(segment: str) -> str:
    """The name a packument path segment names: ``%2f`` and ``%2F`` both mean ``/``."""
    return segment.replace("%2f", "/").replace("%2F", "/")


def canonical_version(text: str) -> str:
    """The version as stored: strict SemVer, build metadata kept. Raises ``InvalidVersion``."""
    try:
        return str(Version.parse(text))
    except _LibraryInvalidVersion as err:
        raise InvalidVersion(f"{text[:64]!r} is not a valid SemVer version: {err.reason}") from err


def version_sort_key(text: str) -> str:
    try:
        return Version.parse(text).sort_key()
    except _LibraryInvalidVersion as err:
        raise InvalidVersion(f"{text[:64]!r} is not a valid SemVer version: {err.reason}") from err


def tarball_filename(name: str, version: str) -> str:
    """The file name the registry serves a version's tarball under: ``{base}-{version}.tgz``
    (npmjs's canonical URL is ``/{name}/-/{base}-{version}.tgz``)."""
    return f"{split(name)[1]}-{canonical_version(version)}.tgz"


def attachment_name(name: str, version: str) -> str:
    """The ``_attachments`` key ``npm publish`` uses: ``{name}-{version}.tgz`` (scope included)."""
    return f"{name}-{version}.tgz"


def version_of_tarball(name: str, filename: str) -> str:
    """The version a tarball file name of ``name`` names (either spelling: ``widget-1.0.0.tgz``
    or, as some clients build it, ``@acme/widget-1.0.0.tgz``). Raises ``InvalidFilename``."""
    base = split(name)[1]
    for prefix in (f"{base}-", f"{name}-"):
        if filename.startswith(prefix) and filename.endswith(".tgz"):
            try:
                return canonical_version(filename[len(prefix):-len(".tgz")])
            except InvalidVersion:
                break
    raise InvalidFilename(f"{filename[:128]!r} is not a tarball file name of {name}")


class NpmFormat:
    """The ``npm`` ecosystem's ``formats.base.Format``: names are stored as written (they
    must already be lowercase), versions are strict SemVer."""

    ecosystem = "npm"

    def normalize_name(self, name: str) -> str:
        return validate(name)

    def canonical_version(self, text: str) -> str:
        return canonical_version(text)

    def version_sort_key(self, text: str) -> str:
        return version_sort_key(text)


NPM = NpmFormat()
