"""`vouch trusted-publisher|gpg-key|policy|trust ...`: who the registry trusts to sign.

    vouch trusted-publisher add widget --repository acme/widget --workflow release.yml \\
        [--environment release] [--ref 'refs/tags/v*']
    vouch trusted-publisher add @acme --repository acme/monorepo --workflow publish.yml
    vouch trusted-publisher add widget --identity a@tny.town \
        --issuer https://github.com/login/oauth      # a personal Sigstore identity
    vouch trusted-publisher list widget --json
    vouch trusted-publisher remove 3
    vouch gpg-key add                        # gpg's default key signs a registry challenge
    vouch gpg-key add --local-user alice@example.org    # or a fingerprint / key id
    vouch gpg-key add ./alice.asc            # or `-`: that public key (its secret in your keyring)
    vouch gpg-key list
    vouch gpg-key revoke 0123ABCD...
    vouch policy set widget sigstore         # sigstore | gpg | any | none | default
    vouch trust refresh                      # the pinned Sigstore root, through TUF

Exit codes (``client.errors``): 0 ok, 1 refused by the registry or by TUF, 2 usage,
3 registry or TUF repository unreachable (`trust refresh` then leaves the pinned root as it
was, and says so).
"""

from __future__ import annotations

import hashlib
import sys
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

import typer

from client import output
from client.api import RegistryClient
from client.config import load_config
from client.errors import EXIT_UNAVAILABLE, ClientError, UsageError

JsonFlag = typer.Option(False, "--json", help="machine-readable output on stdout")

publisher_app = typer.Typer(help="Trusted publishers: CI workflows and Sigstore identities "
                                 "allowed to publish.",
                            no_args_is_help=True)
gpg_key_app = typer.Typer(help="Your GPG public keys, for signed publishes.",
                          no_args_is_help=True)
policy_app = typer.Typer(help="Signature policies of packages and scopes.",
                         no_args_is_help=True)
trust_app = typer.Typer(help="The pinned Sigstore trust root.", no_args_is_help=True)


def _client() -> RegistryClient:
    return RegistryClient(load_config())


def _describe(p: dict[str, Any]) -> str:
    target = p.get("package") or f"{p.get('scope')}/*"
    if p.get("provider") == "identity":
        text = f"{p['id']:>5}  {target}  identity:{p['identity']} via {p['issuer']}"
    else:
        text = (f"{p['id']:>5}  {target}  "
                f"github:{p['repository']}/.github/workflows/{p['workflow']}")
        if p.get("environment"):
            text += f"  environment={p['environment']}"
        if p.get("ref_pattern"):
            text += f"  ref={p['ref_pattern']}"
    if p.get("pending_expires_at"):  # either kind, before the package's first version
        text += f"  pending until {p['pending_expires_at']}"
    return text


# -- trusted publishers -------------------------------------------------------------------
@publisher_app.command("add")
def publisher_add(
    target: str = typer.Argument(..., help="PACKAGE, or @SCOPE for every package of an org"),
    repository: str | None = typer.Option(None, "--repository", help="GitHub OWNER/REPO"),
    workflow: str | None = typer.Option(None, "--workflow",
                                        help="workflow file name, e.g. release.yml"),
    environment: str | None = typer.Option(None, "--environment",
                                           help="GitHub deployment environment to require"),
    ref: str | None = typer.Option(None, "--ref", help="ref pattern, e.g. 'refs/tags/v*'"),
    identity: str | None = typer.Option(
        None, "--identity", help="a personal Sigstore identity (e.g. your e-mail address, as "
        "`sigstore sign` shows it); with --issuer"),
    issuer: str | None = typer.Option(
        None, "--issuer", help="the identity's OIDC issuer, e.g. https://github.com/login/oauth"),
    as_json: bool = JsonFlag,
) -> None:
    """Trust a GitHub Actions workflow (--repository, --workflow) or a personal Sigstore
    identity (--identity, --issuer) to publish TARGET (before its first version, too)."""
    if identity is not None or issuer is not None:
        if identity is None or issuer is None:
            raise UsageError("--identity and --issuer go together")
        if any(v is not None for v in (repository, workflow, environment, ref)):
            raise UsageError("give either --identity/--issuer or --repository/--workflow")
        body: dict[str, Any] = {"target": target, "provider": "identity",
                                "identity": identity, "issuer": issuer}
    elif repository is None or workflow is None:
        raise UsageError("give --repository and --workflow (a GitHub Actions workflow), or "
                         "--identity and --issuer (a personal Sigstore identity)")
    else:
        body = {"target": target, "repository": repository, "workflow": workflow,
                "environment": environment, "ref_pattern": ref}
    with _client() as api:
        api.require_token()
        doc = api.json("POST", "/api/v1/trusted-publishers", json=body)
    if as_json:
        output.emit_json(doc)
    else:
        output.out.print(f"added trusted publisher {_describe(doc).strip()}")


@publisher_app.command("list")
def publisher_list(target: str = typer.Argument(..., help="PACKAGE or @SCOPE"),
                   as_json: bool = JsonFlag) -> None:
    """Publishers trusted for TARGET (a package's list includes its scope's)."""
    with _client() as api:
        rows: list[dict[str, Any]] = api.json("GET", "/api/v1/trusted-publishers",
                                              params={"target": target})
    if as_json:
        output.emit_json(rows)
    elif not rows:
        output.out.print(f"no trusted publisher for {target}")
    else:
        for row in rows:
            output.out.print(_describe(row), markup=False)


@publisher_app.command("remove")
def publisher_remove(publisher_id: int = typer.Argument(..., help="ID from `list`"),
                     as_json: bool = JsonFlag) -> None:
    """Stop trusting a publisher (tokens already minted for it stop publishing)."""
    with _client() as api:
        api.require_token()
        api.request("DELETE", f"/api/v1/trusted-publishers/{publisher_id}")
    if as_json:
        output.emit_json({"id": publisher_id, "removed": True})
    else:
        output.out.print(f"removed trusted publisher {publisher_id}")


# -- GPG keys -----------------------------------------------------------------------------
def _read_key(source: str) -> str:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"cannot read {source}: {err} (give an ASCII-armored public key, "
                         "e.g. from `gpg --armor --export FINGERPRINT`)") from err
    if not text.strip():
        raise UsageError(f"{'stdin' if source == '-' else source} is empty")
    return text


def _key_line(k: dict[str, Any]) -> str:
    state = f"revoked {k['revoked_at']}" if k.get("revoked_at") else "active"
    expires = f"  expires {k['expires_at']}" if k.get("expires_at") else ""
    return f"{k['fingerprint']}  {state}{expires}"


@gpg_key_app.command("add")
def gpg_key_add(
    source: str | None = typer.Argument(
        None, help="armored public key file, or - for stdin; default: export the signing "
                   "key from your gpg keyring"),
    local_user: str | None = typer.Option(
        None, "--local-user", "-u",
        help="the key to sign the registry's challenge with (fingerprint, key id or email); "
             "default: the key in SOURCE, else gpg's default key"),
    as_json: bool = JsonFlag,
) -> None:
    """Register your GPG public key, proving you hold it: your local `gpg` signs a
    challenge from the registry (GNUPGHOME is honoured)."""
    from client import gpg_local

    armored = _read_key(source) if source else None
    signer = local_user or (gpg_local.key_fingerprint(armored) if armored else None)
    with _client() as api:
        api.require_token()
        challenge = api.json("GET", "/api/v1/gpg-keys/challenge")["challenge"]
        signature = gpg_local.sign_challenge(challenge, local_user=signer)
        if armored is None:
            armored = gpg_local.export_public_key(
                gpg_local.signer_fingerprint(challenge, signature))
        doc = api.json("POST", "/api/v1/gpg-keys", json={
            "armored": armored, "challenge": challenge, "signature": signature})
    if as_json:
        output.emit_json(doc)
    else:
        output.out.print(f"registered GPG key {doc['fingerprint']}")


@gpg_key_app.command("list")
def gpg_key_list(as_json: bool = JsonFlag) -> None:
    """Your registered keys, revoked ones included."""
    with _client() as api:
        api.require_token()
        rows: list[dict[str, Any]] = api.json("GET", "/api/v1/gpg-keys")
    if as_json:
        output.emit_json(rows)
    elif not rows:
        output.out.print("no GPG keys registered")
    else:
        for row in rows:
            output.out.print(_key_line(row), markup=False)


@gpg_key_app.command("revoke")
def gpg_key_revoke(fingerprint: str = typer.Argument(..., help="the key's fingerprint"),
                   as_json: bool = JsonFlag) -> None:
    """Revoke one of your keys: signatures by it are refused from now on."""
    with _client() as api:
        api.require_token()
        doc = api.json("DELETE", f"/api/v1/gpg-keys/{quote(fingerprint.replace(' ', ''))}")
    if as_json:
        output.emit_json(doc)
    else:
        output.out.print(f"revoked GPG key {doc['fingerprint']}")


# -- signature policies -------------------------------------------------------------------
@policy_app.command("set")
def policy_set(target: str = typer.Argument(..., help="PACKAGE or @SCOPE"),
               policy: str = typer.Argument(..., help="sigstore, gpg, any, none, or default "
                                                      "(inherit the scope's or registry's)"),
               as_json: bool = JsonFlag) -> None:
    """Set which signatures TARGET's publishes need."""
    # The registry owns the policy names and refuses an unknown one (422, naming them).
    with _client() as api:
        api.require_token()
        doc = api.json("PUT", "/api/v1/signature-policies", json={
            "target": target, "policy": None if policy == "default" else policy})
    if as_json:
        output.emit_json(doc)
    else:
        line = f"signature policy of {target}: {doc['policy'] or 'default'}"
        if doc.get("pending_expires_at"):
            line += (f" (pending: applies to your first publish of {target}; dropped if "
                     f"someone else creates it; expires {doc['pending_expires_at']})")
        output.out.print(line, markup=False)


# -- trust root ---------------------------------------------------------------------------
class TrustRefreshUnreachable(ClientError):
    exit_code = EXIT_UNAVAILABLE


def pinned_root_path(instance: str) -> Path:
    """The trusted_root.json that `TrustRoot.public_good()` / `.staging()` load."""
    return Path(str(resources.files("signing").joinpath("data",
                                                        f"trusted_root.{instance}.json")))


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _is_network_failure(err: BaseException) -> bool:
    from tuf.api.exceptions import DownloadError

    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, DownloadError | ConnectionError | TimeoutError):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


@trust_app.command("refresh")
def trust_refresh(
    instance: str = typer.Option("public-good", "--instance",
                                 help="public-good or staging (picks the TUF repository)"),
    dest: Path | None = typer.Option(None, "--output", "-o",
                                     help="write here instead of the pinned copy"),
    tuf_url: str | None = typer.Option(None, "--tuf-url", help="another TUF repository"),
    bootstrap: Path | None = typer.Option(None, "--bootstrap-root",
                                          help="TUF root.json for --tuf-url"),
    as_json: bool = JsonFlag,
) -> None:
    """Update the pinned Sigstore trusted_root.json through TUF (needs the network)."""
    from signing.errors import TrustRefreshFailed
    from signing.trust import PUBLIC_GOOD_TUF_URL, STAGING_TUF_URL, refresh_via_tuf

    urls = {"public-good": PUBLIC_GOOD_TUF_URL, "staging": STAGING_TUF_URL}
    if instance not in urls:
        raise UsageError(f"--instance is public-good or staging, not {instance!r}")
    if tuf_url and not bootstrap and tuf_url.rstrip("/") not in urls.values():
        raise UsageError("--tuf-url of another repository needs --bootstrap-root")
    try:
        root_json = bootstrap.read_bytes() if bootstrap else None
    except OSError as err:
        raise UsageError(f"cannot read {bootstrap}: {err}") from err
    target = dest or pinned_root_path(instance)
    url = tuf_url or urls[instance]
    before = _sha256(target)
    try:
        root = refresh_via_tuf(target, repository_url=url, bootstrap_root=root_json)
    except TrustRefreshFailed as err:
        kept = f"; {target} was left unchanged" + (f" (sha256 {before})" if before else "")
        if _is_network_failure(err):
            raise TrustRefreshUnreachable(
                f"no network: cannot reach the TUF repository {url}{kept}") from err
        raise ClientError(f"{err.detail}{kept}", code=err.code) from err
    except OSError as err:
        raise ClientError(f"cannot write {target}: {err}; choose a writable --output "
                          "and point VOUCH_SIGSTORE_TRUST / --trust at it") from err
    result = {"path": str(target), "sha256": root.sha256, "previous_sha256": before,
              "changed": before != root.sha256, "repository": url}
    if as_json:
        output.emit_json(result)
    elif result["changed"]:
        output.out.print(f"updated {target} (sha256 {root.sha256}) from {url}")
    else:
        output.out.print(f"{target} is already current (sha256 {root.sha256})")
