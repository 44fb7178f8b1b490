"""`vouch verify --requirements requirements.txt`: check a pip requirements file before
`pip install` runs it.

    pins = parse_requirements(Path("requirements.txt").read_text(), "requirements.txt")
    report = verify_requirements(api, pins, VerifyOptions())     # client.verify.Report

A requirements file here is what `pip freeze` and `pip-compile --generate-hashes` write: one
pinned ``name==version`` per line (extras and environment markers allowed), optional
``--hash=sha256:<hex>`` options, ``#`` comments, ``\\`` line continuations, and index options
(``--index-url`` ...), which are ignored. Anything pip would resolve freely is refused with the
line named (``RequirementsError``, a usage error): an unpinned or ranged requirement, a URL or
path, ``-r``/``-c``/``-e`` includes.

Each pin is checked through the standard Python API of the registry (what pip uses): the
Simple API project page (``/simple/<name>/``, JSON) lists the release's files with their
sha256; every ``--hash`` must be the sha256 of one of them, and the checked files (those the
hashes name, or every file of the release) are downloaded and hashed. Signatures: a file's
PEP 740 provenance (``/integrity/.../provenance``) is verified locally (``formats.pypi``:
certificate chain to the trust root, transparency-log inclusion, DSSE signature, subject =
this file's name and sha256) against the publisher the registry recorded and any identity the
consumer pins (``--repository/--workflow``, ``--identity/--issuer``). A file uploaded with a
detached GPG signature instead (``twine upload FILE FILE.asc``) is verified locally the way
``vouch verify NAME@VERSION`` checks a native GPG signature (``client.verify._check_gpg``):
the signature from ``/api/v1/pypi/<name>/<version>/files/<filename>/signature`` against the
key the registry recorded and any ``--gpg-fingerprint`` pin; a pin of the other method fails.
A file with neither is unsigned (fails unless ``--allow-unsigned``). Advisories: the
registry's OSV API, ecosystem ``PyPI``. A yanked (deprecated) release warns; a quarantined
project or a release that is not offered (unpublished, quarantined) fails.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    canonicalize_version,
    parse_sdist_filename,
    parse_wheel_filename,
)

from advisories.matching import AdvisoryIndex
from client.advisory_check import fetch_advisories
from client.api import RegistryClient
from client.cache import same_digest
from client.errors import ClientError, IntegrityError, RegistryUnavailable, UsageError
from client.verify import (
    EntryResult,
    Report,
    _advisory_summary,
    _check_advisories,
    _check_gpg,
)
from client.verify_policy import VerifyOptions
from signing.errors import VerificationError
from signing.policy import GenericIdentity, GitHubPublisher, IdentityPolicy

PYPI_ECOSYSTEM = "PyPI"
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
_HASH_OPTION = re.compile(r"--hash[= ]([A-Za-z0-9]+):([0-9A-Fa-f]+)")
_IGNORED_OPTIONS = ("--index-url", "-i", "--extra-index-url", "--no-index", "--find-links",
                    "-f", "--trusted-host", "--pre", "--prefer-binary", "--only-binary",
                    "--no-binary", "--require-hashes")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class RequirementsError(UsageError):
    """A requirements file this check cannot take as a list of exact pins (exit 2)."""


@dataclass(frozen=True)
class Pin:
    """One ``name==version`` line: the normalised name, the version, its ``--hash`` values
    (sha256, lower-case hex) and where it came from."""

    name: str
    version: str
    hashes: frozenset[str] = field(default_factory=frozenset)
    line: int = 0


def parse_requirements(text: str, source: str = "requirements") -> list[Pin]:
    """The pins of a requirements file; raises ``RequirementsError`` naming the line."""
    pins: list[Pin] = []
    for number, line in _logical_lines(text):
        where = f"{source}:{number}"
        hashes: set[str] = set()
        for algorithm, value in _HASH_OPTION.findall(line):
            if algorithm.lower() != "sha256" or not _SHA256.match(value.lower()):
                raise RequirementsError(f"{where}: only --hash=sha256:<64 hex digits> is "
                                        f"checked, got {algorithm}:{value[:16]}")
            hashes.add(value.lower())
        spec = _HASH_OPTION.sub("", line).strip()
        if not spec or spec.startswith(_IGNORED_OPTIONS):
            if hashes:
                raise RequirementsError(f"{where}: --hash without a requirement")
            continue
        if spec.startswith("-"):
            raise RequirementsError(f"{where}: {spec.split()[0]} is not supported: list every "
                                    "requirement in this file, pinned with ==")
        pins.append(_pin(spec, hashes, where, number))
    return pins


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first physical line number, text) with comments removed and continuations joined."""
    result: list[tuple[int, str]] = []
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = re.sub(r"(^|\s)#.*$", "", raw)
        if not buffer:
            start = number
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        buffer += line
        if buffer.strip():
            result.append((start, buffer.strip()))
        buffer = ""
    if buffer.strip():
        result.append((start, buffer.strip()))
    return result


def _pin(spec: str, hashes: set[str], where: str, number: int) -> Pin:
    try:
        requirement = Requirement(spec)
    except InvalidRequirement as err:
        raise RequirementsError(f"{where}: not a requirement: {err}") from err
    if requirement.url:
        raise RequirementsError(f"{where}: {requirement.name} comes from a URL; only "
                                "registry packages pinned with == are checked")
    specifiers = list(requirement.specifier)
    if len(specifiers) != 1 or specifiers[0].operator not in ("==", "===") \
            or specifiers[0].version.endswith(".*"):
        raise RequirementsError(f"{where}: {spec!r} is not pinned: write "
                                f"{requirement.name}==VERSION")
    return Pin(canonicalize_name(requirement.name), specifiers[0].version, frozenset(hashes),
               number)


# -- the checks -------------------------------------------------------------------------------
def verify_requirements(api: RegistryClient, pins: list[Pin],
                        options: VerifyOptions) -> Report:
    """Check every pin (see the module docstring); one OSV batch for all advisories."""
    from signing.trust import TrustRoot

    trust = TrustRoot.named(options.trust)
    try:
        advisories = fetch_advisories(api, [p.name for p in pins], PYPI_ECOSYSTEM)
    except RegistryUnavailable as err:
        return Report([_error(pin, err.message) for pin in pins])
    entries = []
    for pin in pins:
        result = EntryResult(pin.name, pin.version)
        try:
            _verify_pin(api, pin, advisories, options, trust, result)
        except RegistryUnavailable as err:
            result.add("registry", "error", err.message)
        entries.append(result)
    return Report(entries)


def _error(pin: Pin, message: str) -> EntryResult:
    result = EntryResult(pin.name, pin.version)
    result.add("registry", "error", message)
    return result


def _verify_pin(api: RegistryClient, pin: Pin, advisories: AdvisoryIndex,
                options: VerifyOptions, trust: Any, result: EntryResult) -> None:
    page = _project_page(api, pin.name)
    if page is None:
        result.add("registry", "fail", "not in the registry")
        return
    if (page.get("project-status") or {}).get("status") == "quarantined":
        result.add("status", "fail", "quarantined by the security team: no file is offered")
        return
    files = [f for f in page.get("files", []) if _version_of(f["filename"]) ==
             canonicalize_version(pin.version)]
    if not files:
        result.add("registry", "fail", f"{pin.version} is not offered (no such release, or "
                   "unpublished or quarantined)")
        return
    yanked = next((f["yanked"] for f in files if f.get("yanked")), None)
    if yanked:
        result.add("status", "warn", f"yanked (deprecated): {yanked}"
                   if isinstance(yanked, str) else "yanked (deprecated)")
    checked = _files_to_check(pin, files, result)
    for entry in checked:
        _check_file(api, pin.name, pin.version, entry, options, trust, result)
    found = advisories.query(PYPI_ECOSYSTEM, pin.name, pin.version)
    _check_advisories([_advisory_summary(record) for record in found], options, result)


def _project_page(api: RegistryClient, name: str) -> dict[str, Any] | None:
    try:
        page: dict[str, Any] = api.json("GET", f"/simple/{name}/",
                                        headers={"Accept": SIMPLE_JSON})
    except ClientError as err:
        if err.code in ("package_not_found", "not_found") or err.problem.get("status") == 404:
            return None
        raise
    return page


def _version_of(filename: str) -> str | None:
    try:
        if filename.endswith(".whl"):
            return canonicalize_version(parse_wheel_filename(filename)[1])
        return canonicalize_version(parse_sdist_filename(filename)[1])
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None


def _files_to_check(pin: Pin, files: list[dict[str, Any]],
                    result: EntryResult) -> list[dict[str, Any]]:
    """The files the pin's hashes name (each hash must name one), or every file."""
    if not pin.hashes:
        return files
    chosen = []
    for wanted in sorted(pin.hashes):
        match = next((f for f in files
                      if same_digest(wanted, str(f.get("hashes", {}).get("sha256", "")))), None)
        if match is None:
            result.add("checksum", "fail", f"--hash=sha256:{wanted} is not the sha256 of any "
                       f"file of {pin.name} {pin.version} in the registry")
        else:
            chosen.append(match)
    return chosen


def _check_file(api: RegistryClient, name: str, version: str, entry: dict[str, Any],
                options: VerifyOptions, trust: Any, result: EntryResult) -> None:
    filename, sha256 = entry["filename"], entry["hashes"]["sha256"]
    try:
        path = api.fetch_artifact(entry["url"], sha256)
    except IntegrityError as err:
        result.add("checksum", "fail", f"{filename}: {err.message}")
        return
    result.sha256 = result.sha256 or sha256
    result.add("checksum", "pass", f"{filename}: sha256 {sha256} matches")
    provenance_url = entry.get("provenance")
    pinned = options.pins.method
    if not provenance_url:
        signature = _gpg_signature(api, name, version, filename)
        if signature is not None:
            if pinned and pinned != "gpg":
                result.add("signature", "fail", f"identity_mismatch: a Sigstore signer is "
                           f"pinned, but {filename} is signed with GPG")
                return
            try:
                _check_gpg(signature, path, options, result)
            except VerificationError as err:
                result.add("signature", "fail", f"{filename}: {err.code}: {err}")
            return
        if pinned:
            result.add("signature", "fail", f"identity_mismatch: {filename} is unsigned, but "
                       "a signer is pinned")
        else:
            result.add("signature", "warn" if options.allow_unsigned else "fail",
                       f"{filename}: unsigned (no PEP 740 attestations, no GPG signature)")
        return
    if pinned == "gpg":
        result.add("signature", "fail", f"identity_mismatch: a GPG key is pinned, but "
                   f"{filename} is attested with Sigstore")
        return
    try:
        provenance = api.json("GET", provenance_url)
        signer = _check_provenance(provenance, filename, sha256, options, trust)
    except VerificationError as err:
        result.add("signature", "fail", f"{filename}: {err.code}: {err}")
        return
    result.signer = signer
    result.add("signature", "pass", f"{filename}: attested by {signer}")


def _gpg_signature(api: RegistryClient, name: str, version: str,
                   filename: str) -> dict[str, Any] | None:
    """The file's detached GPG signature with the signer's registered key (the native
    provenance shape), or None when it was uploaded without one."""
    try:
        found: dict[str, Any] = api.json(
            "GET", f"/api/v1/pypi/{name}/{version}/files/{filename}/signature")
    except RegistryUnavailable:
        raise
    except ClientError as err:
        if err.code != "provenance_not_found":
            raise
        return None
    return found


def _check_provenance(provenance: dict[str, Any], filename: str, sha256: str,
                      options: VerifyOptions, trust: Any) -> str:
    """Verify each attestation bundle against its recorded publisher and the pins."""
    from formats.pypi.attestations import verify_attestations
    from signing.errors import MalformedSignature

    bundles = provenance.get("attestation_bundles") if isinstance(provenance, dict) else None
    if not isinstance(bundles, list) or not bundles:
        raise MalformedSignature("the provenance object holds no attestation bundles")
    pins = options.pins.policies()
    signers = []
    for bundle in bundles:
        recorded = publisher_policy(bundle.get("publisher") or {})
        attestations = json.dumps(bundle.get("attestations") or [])
        for policy in [recorded, *pins]:
            verified = verify_attestations(attestations, filename=filename, sha256=sha256,
                                           publishers=[policy], trust=trust)
        signers.append(f"{verified[0].sigstore.identity} ({verified[0].sigstore.issuer})")
    return ", ".join(signers)


def publisher_policy(publisher: dict[str, Any]) -> IdentityPolicy:
    """The identity policy a PEP 740 ``publisher`` object describes (the registry's record of
    who uploaded); raises ``MalformedSignature`` for a kind this client cannot check."""
    from signing.errors import MalformedSignature

    kind = publisher.get("kind")
    if kind == "GitHub":
        return GitHubPublisher(str(publisher.get("repository")), str(publisher.get("workflow")))
    if kind == "GitLab":
        repository = re.escape(str(publisher.get("repository")))
        path = re.escape(str(publisher.get("workflow_filepath")))
        return GenericIdentity(san_regex=f"https://gitlab\\.com/{repository}//{path}@.+",
                               issuer="https://gitlab.com")
    if kind == "Google":
        return GenericIdentity(san=str(publisher.get("email")),
                               issuer="https://accounts.google.com")
    if kind == "Sigstore" and publisher.get("identity") and publisher.get("issuer"):
        return GenericIdentity(san=str(publisher["identity"]), issuer=str(publisher["issuer"]))
    raise MalformedSignature(f"unknown publisher kind {kind!r} in the provenance object")
