"""`vouch verify`: the consumer's check before anything is installed. It never installs or runs
anything.

    report = verify_targets(api, [Target("left-pad", "1.0.0")], VerifyOptions())
    report.exit_code        # 0 all good, 1 a policy failure, 3 could not check

For every entry: the artifact is fetched through the cache and hashed, and its digests must
equal the registry's and the lockfile's; its signature is verified locally (``signing``) against
the identity the registry recorded and any identity the consumer pins (a pin names the signing
method too: a Sigstore pin fails a GPG-signed or unsigned artifact and a GPG pin a
Sigstore-signed one, with ``identity_mismatch``); the transparency-log
inclusion proof in the bundle is checked; advisories at or above ``--fail-on`` fail it (unless
ignored, with a reason and an expiry); quarantined or unpublished versions fail, deprecated
ones warn.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from advisories.ecosystems import LOCAL_OSV_ECOSYSTEM
from advisories.matching import AdvisoryIndex
from advisories.models import Advisory
from advisories.severity import LEVELS, assess
from client.advisory_check import fetch_advisories
from client.api import RegistryClient, package_path
from client.cache import same_digest
from client.errors import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    ClientError,
    IntegrityError,
    RegistryUnavailable,
)
from client.source import RegistrySource
from client.verify_policy import VerifyOptions, recorded_policy
from signing.errors import VerificationError
from versions.lockfile import Lockfile

PROVENANCE_TTL = 7 * 24 * 3600.0
_METHOD = {"sigstore": "Sigstore", "gpg": "GPG"}


@dataclass(frozen=True)
class Target:
    name: str
    version: str
    sha256: str | None = None  # from a lockfile, when there is one
    sha512: str | None = None


@dataclass
class Finding:
    check: str  # checksum | signature | tlog | advisory | status | registry
    outcome: str  # pass | warn | fail | error
    message: str


@dataclass
class EntryResult:
    name: str
    version: str
    sha256: str | None = None
    signer: str | None = None
    findings: list[Finding] = field(default_factory=list)

    def add(self, check: str, outcome: str, message: str) -> None:
        self.findings.append(Finding(check, outcome, message))

    @property
    def outcome(self) -> str:
        outcomes = {f.outcome for f in self.findings}
        for level in ("fail", "error", "warn"):
            if level in outcomes:
                return level
        return "pass"


@dataclass
class Report:
    entries: list[EntryResult]

    @property
    def ok(self) -> bool:
        return all(e.outcome in ("pass", "warn") for e in self.entries)

    @property
    def exit_code(self) -> int:
        outcomes = {e.outcome for e in self.entries}
        if "fail" in outcomes:
            return EXIT_FAILED
        if "error" in outcomes:
            return EXIT_UNAVAILABLE
        return EXIT_OK

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "exit_code": self.exit_code,
                "entries": [asdict(e) | {"outcome": e.outcome} for e in self.entries]}

    def render_text(self) -> str:
        lines = []
        for entry in self.entries:
            lines.append(f"{entry.outcome.upper():<5} {entry.name}@{entry.version}"
                         + (f"  signed by {entry.signer}" if entry.signer else ""))
            for f in entry.findings:
                if f.outcome != "pass":
                    lines.append(f"      {f.outcome:<5} {f.check}: {f.message}")
        counts = {o: sum(e.outcome == o for e in self.entries)
                  for o in ("pass", "warn", "fail", "error")}
        lines.append(f"{len(self.entries)} checked: {counts['pass']} ok, {counts['warn']} with "
                     f"warnings, {counts['fail']} failed, {counts['error']} could not be checked")
        return "\n".join(lines)


def verify_targets(api: RegistryClient, targets: list[Target], options: VerifyOptions, *,
                   artifacts: dict[str, Path] | None = None,
                   progress: Callable[[], None] | None = None, workers: int = 8) -> Report:
    """Check every target. Registry state comes in batches: one metadata request per 500
    packages and one OSV query batch for advisories; then each entry is checked in parallel."""
    trust = _load_trust(options.trust)
    names = sorted({t.name for t in targets})
    try:
        source = RegistrySource(api, ttl=0.0)
        source.prefetch(names)
        advisories = fetch_advisories(api, names)
    except RegistryUnavailable as err:
        return Report([_unreachable(t, err) for t in targets])

    def one(target: Target) -> EntryResult:
        result = EntryResult(target.name, target.version)
        try:
            doc = source.version(target.name, target.version)
            if doc is None:
                result.add("registry", "fail", "not in the registry")
            else:
                _verify_one(api, target, doc, advisories, options, trust, result,
                            (artifacts or {}).get(target.name))
        except RegistryUnavailable as err:
            result.add("registry", "error", err.message)
        if progress:
            progress()
        return result

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return Report(list(pool.map(one, targets)))


def _unreachable(target: Target, err: RegistryUnavailable) -> EntryResult:
    result = EntryResult(target.name, target.version)
    result.add("registry", "error", err.message)
    return result


def verify_lockfile_entries(api: RegistryClient, lockfile: Lockfile, artifacts: dict[str, Path],
                            *, fail_on: str = "low", allow_unsigned: bool = False) -> Report:
    """The checks `vouch install` runs on already downloaded (and hashed) artifacts."""
    targets = [Target(p.name, p.version, p.sha256, p.sha512) for p in lockfile.packages]
    options = VerifyOptions(fail_on=fail_on, allow_unsigned=allow_unsigned)
    return verify_targets(api, targets, options, artifacts=artifacts)


def _load_trust(trust: str) -> Any:
    from signing.trust import TrustRoot

    return TrustRoot.named(trust)


def _verify_one(api: RegistryClient, target: Target, doc: dict[str, Any],
                advisories: AdvisoryIndex, options: VerifyOptions, trust: Any,
                result: EntryResult, artifact: Path | None) -> None:
    result.sha256 = doc.get("sha256")
    if not _check_status(doc, result):
        return
    path = artifact or _check_artifact(api, target, doc, result)
    if path is None:
        return
    _check_signature(api, target, doc, path, options, trust, result)
    found = advisories.query(LOCAL_OSV_ECOSYSTEM, target.name, target.version)
    _check_advisories([_advisory_summary(record) for record in found], options, result)


def _advisory_summary(record: Advisory) -> dict[str, Any]:
    assessment = assess(record)
    return {"id": record.id, "summary": record.summary or "",
            "severity": assessment.level if assessment else None,
            "malicious": record.is_malicious, "aliases": list(record.aliases or [])}


def _check_status(doc: dict[str, Any], result: EntryResult) -> bool:
    if doc.get("unpublished"):
        result.add("status", "fail", "unpublished by its owner; its artifact is not served")
        return False
    if doc.get("quarantined"):
        result.add("status", "fail", "quarantined by the security team")
        return False
    if doc.get("deprecated"):
        result.add("status", "warn", f"deprecated: {doc['deprecated']}")
    return True


def _check_artifact(api: RegistryClient, target: Target, doc: dict[str, Any],
                    result: EntryResult) -> Path | None:
    sha256, sha512 = doc["sha256"], doc["sha512"]
    if target.sha256 and not (same_digest(target.sha256, sha256)
                              and (not target.sha512 or same_digest(target.sha512, sha512))):
        result.add("checksum", "fail", f"the lockfile says sha256 {target.sha256}, the registry "
                   f"records {sha256}")
        return None
    if api.cache.check(sha256) == "corrupt":
        result.add("checksum", "fail", "the cached artifact did not match its sha256 (tampered "
                   "or corrupted); the entry was removed")
        return None
    try:
        path = api.fetch_artifact(doc["artifact_url"], sha256, sha512)
    except IntegrityError as err:
        result.add("checksum", "fail", err.message)
        return None
    result.add("checksum", "pass", f"sha256 {sha256} and sha512 match")
    return path


def _check_signature(api: RegistryClient, target: Target, doc: dict[str, Any], path: Path,
                     options: VerifyOptions, trust: Any, result: EntryResult) -> None:
    prov = _provenance(api, target, doc["sha256"])
    pinned = options.pins.method
    if prov is None:
        if pinned:  # a pin demands a signature of its method; --allow-unsigned does not waive it
            result.add("signature", "fail", f"identity_mismatch: a {_METHOD[pinned]} signer is "
                       "pinned, but the artifact is unsigned")
            return
        result.add("signature", "warn" if options.allow_unsigned else "fail", "unsigned")
        return
    if pinned and prov["method"] != pinned:
        # A pin names a signing method as well as an identity (issue 9).
        result.add("signature", "fail", f"identity_mismatch: a {_METHOD[pinned]} signer is "
                   f"pinned, but the artifact is signed with {_METHOD.get(prov['method'], '?')}")
        return
    try:
        if prov["method"] == "sigstore":
            _check_sigstore(prov, doc, options, trust, result)
        else:
            _check_gpg(prov, path, options, result)
    except VerificationError as err:
        result.add("signature", "fail", f"{err.code}: {err}")


def _provenance(api: RegistryClient, target: Target, sha256: str) -> dict[str, Any] | None:
    """The publish-time evidence of a file, cached by its sha256: it never changes for that
    file (a cached copy is only a shortcut: the signature is verified again every time)."""
    key = f"{api.config.registry}|provenance|{target.name}|{target.version}|{sha256}"
    cached = api.cache.get_metadata(key, PROVENANCE_TTL)
    if cached is not None:
        found: dict[str, Any] | None = cached.get("provenance")
        return found
    url = (f"/api/v1/packages/{package_path(target.name)}/versions/{target.version}"
           "/provenance")
    try:
        found = api.json("GET", url)
    except RegistryUnavailable:
        raise
    except ClientError as err:
        if err.code != "provenance_not_found":
            raise
        found = None
    api.cache.put_metadata(key, {"provenance": found})
    return found


def _check_sigstore(prov: dict[str, Any], doc: dict[str, Any], options: VerifyOptions,
                    trust: Any, result: EntryResult) -> None:
    from signing.sigstore import verify_bundle

    bundle = json.dumps(prov["bundle"])
    policies = [recorded_policy(prov["identity"]), *options.pins.policies()]
    verified = None
    for policy in policies:
        verified = verify_bundle(bundle, doc["sha256"], None, policy, trust,
                                 artifact_sha512=doc["sha512"])
    assert verified is not None
    result.signer = f"{verified.identity} ({verified.issuer})"
    result.add("signature", "pass", f"Sigstore: {result.signer}")
    result.add("tlog", "pass", f"Rekor log index {verified.log_index} (inclusion proof "
               "verified against the trust root)")


def _check_gpg(prov: dict[str, Any], path: Path, options: VerifyOptions,
               result: EntryResult) -> None:
    from signing.gpg import verify_detached

    recorded = (prov["identity"].get("fingerprint") or "").upper()
    if not prov.get("public_key"):
        result.add("signature", "fail", f"the signer's key {recorded} is no longer published")
        return
    signature: str | bytes = prov["signature"]
    if isinstance(signature, str) and signature.startswith("base64:"):  # a binary signature
        signature = base64.b64decode(signature.removeprefix("base64:"))
    verified = verify_detached(path, signature, [prov["public_key"]])
    pinned = (options.pins.gpg_fingerprint or "").replace(" ", "").upper()
    if verified.fingerprint.upper() != recorded or (pinned and verified.fingerprint != pinned):
        result.add("signature", "fail", f"identity_mismatch: signed by {verified.fingerprint}, "
                   f"expected {pinned or recorded}")
        return
    # The key's user id is whatever its maker typed (anyone can make a key named "Alice"):
    # shown as the key's own claim, never as who signed.
    result.signer = f"GPG {verified.fingerprint}" + (
        f" (the key calls itself {verified.signer!r}; unchecked)" if verified.signer else "")
    result.add("signature", "pass", result.signer)


def _check_advisories(found: list[dict[str, Any]], options: VerifyOptions,
                      result: EntryResult) -> None:
    threshold = LEVELS.index(options.fail_on)
    ignored = {i.advisory_id: i for i in options.ignores}
    for advisory in found:
        advisory_id = advisory["id"]
        severity = advisory.get("severity")
        label = f"{advisory_id} ({severity or 'unknown severity'}): {advisory.get('summary', '')}"
        ignore = ignored.get(advisory_id) or next(
            (ignored[a] for a in advisory.get("aliases", []) if a in ignored), None)
        if ignore is not None and ignore.active(options.today) and not advisory.get("malicious"):
            result.add("advisory", "warn", f"ignored until {ignore.until or 'forever'} "
                       f"({ignore.reason or 'no reason given'}): {label}")
            continue
        if ignore is not None and not ignore.active(options.today):
            label += f" (the ignore expired on {ignore.until})"
        # Unknown severity and malicious packages fail closed at any threshold.
        blocking = (advisory.get("malicious") or severity not in LEVELS
                    or LEVELS.index(severity) >= threshold)
        result.add("advisory", "fail" if blocking else "warn", label)
